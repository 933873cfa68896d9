"""A storefront whose view caching is invalidated correctly: `flaskcache explain` must
report no finding on its traces.

Every invalidation names a key the library really uses; the ones that remove nothing are
precautionary deletes of pages nobody requested yet, each followed by the delete of the
page that is live, and every cached page is read back fresh afterwards:

- an HTML page ``/stock`` and an API twin ``/api/v1/stock`` (a blueprint) share the stock
  data; after a stock change both keys are deleted, ``view//stock`` (not requested yet)
  and ``view//api/v1/stock`` (live);
- one view registered on two routes, ``/prices`` and ``/api/prices``: each route has its
  own entry, both are deleted (``delete_cached`` per path on 2.5, the keys on 2.4);
- a ``query_string=True`` search: a change to coffee deletes the ``?q=coffee`` entry
  (never requested) and a change to tea the ``?q=tea`` one (live).

Runs with plain ``python clean_storefront.py`` on Flask-Caching 2.5 / 2.4.
"""

import json

from flask import Blueprint, Flask, request
from flask_caching import Cache

app = Flask(__name__)
app.config.update(CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=300)
cache = Cache(app)
api = Blueprint("api", __name__, url_prefix="/api/v1")
HAS_DELETE_CACHED = hasattr(cache, "delete_cached")  # Flask-Caching 2.5

# The "database".
STOCK = {"kettle": 4, "teapot": 1}
PRICES = {"kettle": 20, "teapot": 35}
TEAS = ["black tea", "green tea", "coffee beans"]
RENDERS = {"count": 0}


def render(payload):
    RENDERS["count"] += 1
    payload["render"] = RENDERS["count"]
    return json.dumps(payload, sort_keys=True)


@app.route("/stock")
@cache.cached(timeout=60)
def stock_page():
    return render({"page": "stock", "stock": dict(STOCK)})


@api.route("/stock")
@cache.cached(timeout=60)
def stock_api():
    return render({"stock": dict(STOCK)})


app.register_blueprint(api)


@app.route("/prices")
@app.route("/api/prices")
@cache.cached(timeout=60)
def prices():
    return render({"prices": dict(PRICES)})


@app.route("/search")
@cache.cached(timeout=60, query_string=True)
def search():
    term = request.args.get("q", "")
    return render({"q": term, "hits": [t for t in TEAS if term in t]})


client = app.test_client()


def get(path):
    body = client.get(path).get_data(as_text=True)
    print("GET %-18s -> %s" % (path, body))


def search_key(query):
    """The key of /search?<query> (2.4 has no delete_cached)."""
    with app.test_request_context("/search?" + query):
        return search.make_cache_key()


print("== a page and its API twin")
get("/api/v1/stock")
STOCK["teapot"] = 0
cache.delete("view//stock")  # the HTML page: not requested yet, nothing to delete
cache.delete("view//api/v1/stock")
get("/api/v1/stock")  # fresh: teapot 0
get("/stock")

print("== one view on two routes")
get("/api/prices")
PRICES["kettle"] = 22
if HAS_DELETE_CACHED:
    cache.delete_cached(prices, "/prices")  # not requested yet
    cache.delete_cached(prices, "/api/prices")
else:
    cache.delete("view//prices")
    cache.delete("view//api/prices")
get("/api/prices")  # fresh: kettle 22
get("/prices")

print("== query_string search")
get("/search?q=tea")
TEAS.append("coffee pods")
if HAS_DELETE_CACHED:
    cache.delete_cached(search, "/search", {"q": "coffee"})  # never searched: nothing cached
else:
    cache.delete(search_key("q=coffee"))
get("/search?q=tea")  # unchanged: tea hits only
TEAS.append("white tea")
if HAS_DELETE_CACHED:
    cache.delete_cached(search, "/search", {"q": "tea"})
else:
    cache.delete(search_key("q=tea"))
get("/search?q=tea")  # fresh: white tea
