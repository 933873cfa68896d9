"""Pitfall ``backend-prefix-by-hand``: ``CACHE_KEY_PREFIX`` written into the key by hand.

With ``CACHE_TYPE="RedisCache"`` and ``CACHE_KEY_PREFIX="shop_"``, the backend itself puts
``shop_`` in front of every key it sends to the server: ``@cache.cached()`` on ``/items``
stores the Redis key ``shop_view//items``, while Flask-Caching's own key (the one
``cache.get``/``cache.delete`` take) is ``view//items``. Seeing ``shop_view//items`` in
``redis-cli``, the user deletes ``cache.delete("shop_view//items")``: the backend prefixes
it again, deletes ``shop_shop_view//items``, which does not exist, and the next request is
served the stale list.

Fix: ``cache.delete("view//items")`` (Flask-Caching 2.5 also has
``cache.delete_cached(items, "/items")``). Flask-Cache 0.13 (``CACHE_TYPE="redis"``,
Werkzeug's ``RedisCache``) prefixes the same way.

Under ``python -m flaskcache_recorder`` the Redis server is an in-process fakeredis. Run
plainly, the script needs a Redis server at ``REDIS_URL`` (default
``redis://localhost:6379/15``).
"""

import os

from flask import Flask
try:
    from flask_caching import Cache
    CACHE_CONFIG = {"CACHE_TYPE": "RedisCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13: Werkzeug's RedisCache
    from flask_cache import Cache
    CACHE_CONFIG = {"CACHE_TYPE": "redis"}
    # 0.13's Jinja extension imports `flask.ext`, which Flask >= 1.0 no longer has.
    CACHE_ARGS = {"with_jinja2_ext": False}

app = Flask(__name__)
app.config.update(
    CACHE_CONFIG,
    CACHE_REDIS_URL=os.environ.get("REDIS_URL", "redis://localhost:6379/15"),
    CACHE_KEY_PREFIX="shop_",
)
cache = Cache(app, **CACHE_ARGS)

ITEMS = ["rake", "hose"]


@app.route("/items")
@cache.cached(timeout=50)
def items():
    return ", ".join(ITEMS)


client = app.test_client()
print("GET /items       ->", client.get("/items").get_data(as_text=True))
ITEMS.append("saw")
cache.delete("shop_view//items")  # explain: backend-prefix-by-hand
print("after the delete ->", client.get("/items").get_data(as_text=True))
