"""A product API in a blueprint, cached per query string, per user and per item.

- ``GET /api/v1/items?category=...&limit=...`` is cached with ``query_string=True``: the
  key is the path (2.5: the key_prefix) plus a hash of the sorted query arguments, so
  ``cache.delete("view//api/v1/items")`` deletes nothing. Flask-Caching 2.5 has
  ``cache.delete_cached(view, path, query_args)``; older releases need the key computed by
  ``view.make_cache_key()`` inside a matching request context. (Flask-Cache 0.13 has no
  ``query_string``: there every query string shares one entry.)
- ``GET /api/v1/dashboard`` is cached per user with a callable ``key_prefix`` that reads a
  request header.
- ``GET /api/v1/items/<id>`` is cached by path and deleted with
  ``delete_cached(item, path=...)`` (2.5).
- The clock then crosses the timeouts: an entry set at t with ``timeout=10`` is still
  served at t+9.5 and gone at t+10.

Runs with plain ``python blueprint_api.py``: it then sleeps 20 s of real time, and as
SimpleCache stores expiry times in whole seconds, entries may expire up to a second
earlier than the comments say. Under ``python -m flaskcache_recorder`` the clock is
virtual (it starts at 1000.0 and only ``time.sleep`` moves it), so nothing waits and the
timeline is exact.
"""

import inspect
import json
import time

from flask import Blueprint, Flask, request

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    CACHE_ARGS = {"with_jinja2_ext": False}

HAS_QUERY_STRING = "query_string" in inspect.signature(Cache.cached).parameters

app = Flask(__name__)
app.config.update(SERVER_NAME="shop.example", CACHE_DEFAULT_TIMEOUT=120, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)
api = Blueprint("api", __name__, url_prefix="/api/v1")

PRODUCTS = [
    {"id": 1, "name": "rake", "category": "garden", "price": 19},
    {"id": 2, "name": "hose", "category": "garden", "price": 25},
    {"id": 3, "name": "hammer", "category": "tools", "price": 12},
    {"id": 4, "name": "saw", "category": "tools", "price": 30},
    {"id": 5, "name": "drill", "category": "tools", "price": 89},
]
CARTS = {"ann": 2, "bob": 0}
RENDERS = {"count": 0}


def render(payload):
    RENDERS["count"] += 1
    payload["render"] = RENDERS["count"]
    return json.dumps(payload, sort_keys=True)


@api.route("/items")
@cache.cached(timeout=10, **({"query_string": True} if HAS_QUERY_STRING else {}))
def list_items():
    category = request.args.get("category")
    limit = int(request.args.get("limit", 10))
    items = [p for p in PRODUCTS if category in (None, p["category"])][:limit]
    return render({"items": [[p["name"], p["price"]] for p in items]})


def dashboard_key():
    return "user-dashboard/%s" % request.headers.get("X-User", "anonymous")


@api.route("/dashboard")
@cache.cached(timeout=5, key_prefix=dashboard_key)
def dashboard():
    user = request.headers.get("X-User", "anonymous")
    return render({"user": user, "cart": CARTS.get(user, 0)})


@api.route("/items/<int:item_id>")
@cache.cached(timeout=20)
def item(item_id):
    product = [p for p in PRODUCTS if p["id"] == item_id][0]
    return render(dict(product))


app.register_blueprint(api)
client = app.test_client()


def get(path, user=None):
    headers = {"X-User": user} if user else {}
    body = client.get(path, headers=headers).get_data(as_text=True)
    print("GET %-40s %-6s -> %s" % (path, user or "", body))


def set_price(product_id, price):
    for p in PRODUCTS:
        if p["id"] == product_id:
            p["price"] = price
    print("price of product %d is now %d" % (product_id, price))


print("== query-string caching")
get("/api/v1/items?category=tools&limit=2")
get("/api/v1/items?limit=2&category=tools")  # same arguments, other order: a hit
get("/api/v1/items?category=garden")
set_price(3, 14)
print("cache.delete('view//api/v1/items') -> %r" % cache.delete("view//api/v1/items"))
get("/api/v1/items?category=tools&limit=2")  # stale
if hasattr(cache, "delete_cached"):  # Flask-Caching 2.5
    print("cache.delete_cached(list_items, '/api/v1/items', {...}) -> %r" % cache.delete_cached(
        list_items, "/api/v1/items", {"category": "tools", "limit": 2}))
else:
    with app.test_request_context("/api/v1/items?category=tools&limit=2"):
        key = list_items.make_cache_key()
    print("cache.delete(%r) -> %r" % (key, cache.delete(key)))
get("/api/v1/items?category=tools&limit=2")  # fresh

print("== per-user dashboard (callable key_prefix)")
get("/api/v1/dashboard", "ann")
get("/api/v1/dashboard", "ann")
get("/api/v1/dashboard", "bob")
print("cache.delete('user-dashboard/ann') -> %r" % cache.delete("user-dashboard/ann"))
get("/api/v1/dashboard", "ann")

print("== one item")
get("/api/v1/items/3")
set_price(3, 15)
if hasattr(cache, "delete_cached"):
    # delete_cached(item, item_id=3) would build the path with url_for("item"), which
    # fails for a blueprint view (its endpoint is "api.item"); pass the path instead.
    with app.app_context():
        print("cache.delete_cached(item, path='/api/v1/items/3') -> %r"
              % cache.delete_cached(item, path="/api/v1/items/3"))
else:
    print("cache.delete('view//api/v1/items/3') -> %r" % cache.delete("view//api/v1/items/3"))
get("/api/v1/items/3")

print("== timeouts (every entry above was stored at the same virtual second, t)")
get("/api/v1/items?category=garden")  # t: a hit
time.sleep(4)
get("/api/v1/items?category=tools&limit=2")  # t+4: a hit
time.sleep(1)
get("/api/v1/dashboard", "bob")  # t+5: bob's 5 s dashboard has just expired
set_price(4, 33)
time.sleep(4.5)
get("/api/v1/items?category=tools&limit=2")  # t+9.5: still served, with the old saw price
time.sleep(0.5)
get("/api/v1/items?category=tools&limit=2")  # t+10: expired, recomputed
time.sleep(10)
get("/api/v1/items/3")  # t+20: the 20 s item entry has expired too
