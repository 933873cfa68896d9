"""bookstore: a small catalogue app, built by `create_app`."""

from flask import Flask

from . import data
from .api import api
from .extensions import cache, stats_cache
from .views import catalog

DEFAULT_CONFIG = {
    "CACHE_TYPE": "SimpleCache",
    "CACHE_DEFAULT_TIMEOUT": 300,
}


def create_app(config=None):
    """A new app with its own database and its own caches. `config` overrides
    `DEFAULT_CONFIG` (tests pass `{"TESTING": True}`, and cache settings)."""
    app = Flask("bookstore")
    app.config.update(DEFAULT_CONFIG)
    app.config.update(config or {})
    data.init_app(app)
    cache.init_app(app)
    stats_cache.init_app(app)
    app.register_blueprint(catalog)
    app.register_blueprint(api, url_prefix="/api")
    return app
