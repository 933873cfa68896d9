"""``@cache.cached`` views that abort with an HTTP error (``abort(404)``, ``abort(403)``).

Flask-Caching 2.5 captures the ``HTTPException`` the view raises, stores the exception
object under the view's key, raises it again, and raises the stored one on every hit
until the entry is deleted or expires (FC-1.1.7, FC-1.1.8). ``response_filter`` is given
the exception's response, so a filter on the status keeps it out. Flask-Caching 2.4.1 and
Flask-Cache 0.13 store nothing: the exception propagates and the view runs on every
request. ``@cache.memoize`` never captures it (FC-2.6.2).
"""

import logging

from flask import Flask, abort

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    CACHE_ARGS = {"with_jinja2_ext": False}

logging.getLogger("flask_caching").addHandler(logging.NullHandler())
logging.getLogger("flask_cache").addHandler(logging.NullHandler())

app = Flask(__name__)
app.config.update(CACHE_DEFAULT_TIMEOUT=300, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)
RUNS = {"n": 0}
ITEMS = {1: "apple", 2: "pear"}
HIDDEN = {3}


def run():
    RUNS["n"] += 1
    return RUNS["n"]


@app.route("/items/<int:item>")
@cache.cached(timeout=60)
def item(item):
    n = run()
    if item in HIDDEN:
        abort(403)
    if item not in ITEMS:
        abort(404, "no item %d" % item)
    return "%s %d" % (ITEMS[item], n)


@cache.memoize(timeout=60)
def lookup(item):
    run()
    if item not in ITEMS:
        abort(404)
    return ITEMS[item]


def ok_only(response):
    return getattr(response, "status_code", 200) == 200


try:
    @app.route("/filtered/<int:item>")
    @cache.cached(timeout=60, response_filter=ok_only)
    def filtered(item):
        run()
        if item not in ITEMS:
            abort(404)
        return ITEMS[item]
except TypeError:  # Flask-Cache 0.13 has no response_filter
    filtered = None


def main():
    client = app.test_client()
    for path in ["/items/1", "/items/1", "/items/7", "/items/7", "/items/3", "/items/3",
                 "/items/2"]:
        response = client.get(path)
        print(path, response.status_code, response.data[:40], "runs", RUNS["n"])
    with app.app_context():
        print("stored under view//items/7:", repr(cache.get("view//items/7")))
        print("stored under view//items/3:", repr(cache.get("view//items/3")))
        cache.delete("view//items/7")
        ITEMS[7] = "plum"
    for path in ["/items/7", "/items/7", "/items/3"]:
        response = client.get(path)
        print(path, response.status_code, response.data[:40], "runs", RUNS["n"])
    if filtered is not None:
        for path in ["/filtered/1", "/filtered/1", "/filtered/9", "/filtered/9"]:
            response = client.get(path)
            print(path, response.status_code, "runs", RUNS["n"])
    with app.app_context():
        for item_id in [1, 9, 9]:
            try:
                print("lookup", item_id, lookup(item_id))
            except Exception as exc:  # noqa: BLE001 - the abort propagates
                print("lookup", item_id, "raised", type(exc).__name__)


if __name__ == "__main__":
    main()
