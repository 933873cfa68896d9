"""Pitfall ``prefix-joined-with-path``: a literal ``key_prefix`` deleted as prefix + path.

``@cache.cached(key_prefix="items")`` on ``/items``: the name suggests that the prefix is put
in front of the path, so the user deletes ``"items/items"``. But a ``key_prefix`` without
``%s`` is the whole key: the entry is ``items``. ``cache.delete("items/items")`` deletes
nothing, and the next request is served the stale list.

Fix: ``cache.delete("items")`` (Flask-Caching 2.5 also has ``cache.delete_cached(items)``,
which builds the same key). To key by path, write the ``%s`` yourself:
``key_prefix="items%s"`` stores ``items/items``.
"""

from flask import Flask

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

ITEMS = ["rake", "hose"]


@app.route("/items")
@cache.cached(timeout=50, key_prefix="items")
def items():
    return ", ".join(ITEMS)


client = app.test_client()
print("GET /items       ->", client.get("/items").get_data(as_text=True))
ITEMS.append("saw")
cache.delete("items/items")  # explain: prefix-joined-with-path
print("after the delete ->", client.get("/items").get_data(as_text=True))
