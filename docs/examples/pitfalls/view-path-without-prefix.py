"""Pitfall ``view-path-without-prefix``: a blueprint view deleted by its route without the
blueprint's ``url_prefix``.

The blueprint is registered with ``url_prefix="/api"`` and its view is routed as ``/items``;
``@cache.cached()`` keys it by ``request.path``, which is the full URL path ``/api/items``, so
the entry is ``view//api/items``. ``cache.delete("view//items")`` (the path as written in the
``@bp.route``) deletes nothing, and the next request is served the stale list.

Fix: ``cache.delete("view//api/items")`` (Flask-Caching 2.5 also has
``cache.delete_cached(items, "/api/items")``).
"""

from flask import Blueprint, Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    # 0.13's Jinja extension imports `flask.ext`, which Flask >= 1.0 no longer has.
    CACHE_ARGS = {"with_jinja2_ext": False}

app = Flask(__name__)
app.config.update(CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)
api = Blueprint("api", __name__)

ITEMS = ["rake", "hose"]


@api.route("/items")
@cache.cached(timeout=50)
def items():
    return ", ".join(ITEMS)


app.register_blueprint(api, url_prefix="/api")

client = app.test_client()
print("GET /api/items   ->", client.get("/api/items").get_data(as_text=True))
ITEMS.append("saw")
cache.delete("view//items")  # explain: view-path-without-prefix
print("after the delete ->", client.get("/api/items").get_data(as_text=True))
