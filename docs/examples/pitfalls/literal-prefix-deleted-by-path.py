"""Pitfall ``literal-prefix-deleted-by-path``: a view cached with a literal ``key_prefix``
deleted by its path.

``@cache.cached(key_prefix="all_items")`` on ``/items``: a ``key_prefix`` without ``%s`` is
not a prefix at all, it is the whole key, so the entry is ``all_items`` (no path in it).
``cache.delete("view//items")`` deletes nothing, and the next request is served the stale
list.

Fix: ``cache.delete("all_items")`` (Flask-Caching 2.5 also has
``cache.delete_cached(items)``, which builds the same key).
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
@cache.cached(timeout=50, key_prefix="all_items")
def items():
    return ", ".join(ITEMS)


client = app.test_client()
print("GET /items       ->", client.get("/items").get_data(as_text=True))
ITEMS.append("saw")
cache.delete("view//items")  # explain: literal-prefix-deleted-by-path
print("after the delete ->", client.get("/items").get_data(as_text=True))
