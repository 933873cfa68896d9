"""A small shop whose cache invalidation is correct everywhere: `flaskcache explain` must
report no finding on its traces.

Every invalidation below names the exact key the library stored (or, for a version reset
or `clear()`, every key of its scope), and every one is followed by a read that prints the
fresh value. Covered: `cache.delete("view//<path>")`, a literal `key_prefix` deleted by its
literal, a blueprint view deleted by its path with the `url_prefix`, `cache.delete_many` of
correct keys, `cache.delete_cached(view, path)` and with `query_args` (Flask-Caching 2.5),
`cache.delete_memoized(f, <the live call's args>)`, with keyword arguments as the live call
passed them, `cache.delete_memoized(f)` (version reset), a classmethod deleted with the class,
an instance method deleted through the class with an equal instance (`Cart(1)`) and through
the bound method, `cache.delete_memoized(cart.total)` (one instance's reset), a staticmethod,
`cache.clear()`. Plus precautionary invalidations that are right although they remove
nothing: keys never cached yet, `delete_memoized(unit_cost, 99)` while `unit_cost(7)` is
live (another value, the same form), and a delete right before the first call.

Runs with plain ``python clean_app.py`` on Flask-Caching 2.5 / 2.4 and on Flask-Cache 0.13;
the parts a release lacks are guarded (`delete_cached` and the bound-method delete are 2.5
only; 0.13 has no `query_string`).
"""

import inspect
import json

from flask import Blueprint, Flask, request

try:
    from importlib.metadata import version

    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
    LIB_VERSION = tuple(int(p) for p in version("flask-caching").split(".")[:2])
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    # 0.13's Jinja extension imports `flask.ext`, which Flask >= 1.0 no longer has.
    CACHE_ARGS = {"with_jinja2_ext": False}
    LIB_VERSION = (0, 13)

HAS_QUERY_STRING = "query_string" in inspect.signature(Cache.cached).parameters
# delete_memoized(obj.method, args) inserts the bound instance since Flask-Caching 2.5.0;
# earlier releases need it spelled out: delete_memoized(obj.method, obj, args).
BOUND_DELETE_INSERTS_SELF = LIB_VERSION >= (2, 5)

app = Flask(__name__)
app.config.update(CACHE_DEFAULT_TIMEOUT=300, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)
api = Blueprint("api", __name__, url_prefix="/api/v1")

# The "database".
PRODUCTS = {3: "kettle", 7: "teapot"}
PRICES = {3: 20, 7: 35}
TEAS = ["black tea", "green tea"]
COSTS = {7: 11, 42: 3, 99: 1}
SALES = {2023: 310, 2024: 410}
FEATURED = ["teapot"]
STOCK = {"kettle": 4, "teapot": 1}
TAX = {"eu": 20, "us": 8}
CARTS = {1: [35, 20], 2: [12]}
SHIPPING = {1: 4, 2: 6}
RENDERS = {"count": 0}


def render(payload):
    RENDERS["count"] += 1
    payload["render"] = RENDERS["count"]
    return json.dumps(payload, sort_keys=True)


@app.route("/products")
@cache.cached(timeout=60)
def product_list():
    return render({"products": sorted(PRODUCTS.values())})


@app.route("/featured")
@cache.cached(timeout=60, key_prefix="featured_products")
def featured():
    return render({"featured": list(FEATURED)})


@app.route("/products/<int:pid>")
@cache.cached(timeout=60)
def product(pid):
    return render({"product": PRODUCTS.get(pid), "price": PRICES.get(pid)})


@app.route("/search")
@cache.cached(timeout=60, **({"query_string": True} if HAS_QUERY_STRING else {}))
def search():
    term = request.args.get("q", "")
    return render({"q": term, "hits": [t for t in TEAS if term in t]})


@api.route("/stock")
@cache.cached(timeout=60)
def stock():
    return render({"stock": dict(STOCK)})


app.register_blueprint(api)


@cache.memoize(timeout=120)
def unit_cost(pid):
    return COSTS[pid]


@cache.memoize(timeout=120)
def report(year, fmt="html"):
    RENDERS["count"] += 1
    return "%s report %d: %d sales (render %d)" % (fmt, year, SALES[year], RENDERS["count"])


class Cart(object):
    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "Cart(%d)" % self.n

    @cache.memoize(timeout=120)
    def total(self, discount):
        return sum(CARTS[self.n]) - discount


class Catalog(object):
    @classmethod
    @cache.memoize(timeout=120)
    def tax_rate(cls, region):
        return TAX[region]

    @staticmethod
    @cache.memoize(timeout=120)
    def shipping(zone):
        return SHIPPING[zone]


client = app.test_client()


def get(path):
    body = client.get(path).get_data(as_text=True)
    print("GET %-22s -> %s" % (path, body))


print("== views")
# A precautionary delete before the first request: nothing stored yet, correct key.
cache.delete("view//products")
get("/products")
PRODUCTS[5] = "mug"
cache.delete("view//products")
get("/products")  # fresh: mug

get("/featured")
FEATURED.append("kettle")
cache.delete("featured_products")
get("/featured")  # fresh: teapot and kettle

get("/api/v1/stock")
STOCK["teapot"] = 0
cache.delete("view//api/v1/stock")
get("/api/v1/stock")  # fresh: teapot 0

PRODUCTS[6] = "cup"
FEATURED.append("cup")
cache.delete_many("view//products", "featured_products")
get("/products")  # fresh: cup
get("/featured")  # fresh: cup

get("/products/3")
PRICES[3] = 22
if hasattr(cache, "delete_cached"):  # Flask-Caching 2.5
    cache.delete_cached(product, "/products/3")
else:
    cache.delete("view//products/3")
get("/products/3")  # fresh: 22
PRODUCTS[9] = "infuser"
PRICES[9] = 8
cache.delete("view//products")
# The new product's page was never requested: the right key, with nothing stored yet.
cache.delete("view//products/9")
get("/products")  # fresh: infuser
get("/products/9")
get("/products/7")

get("/search?q=tea&page=2")
get("/search?page=2&q=tea")  # the same arguments in another order: a hit
TEAS.append("white tea")
if hasattr(cache, "delete_cached"):  # Flask-Caching 2.5: prefix + sha256 of the arguments
    cache.delete_cached(search, "/search", "q=tea&page=2")
elif HAS_QUERY_STRING:  # 2.4: path + md5 of the arguments, computed in a matching request
    with app.test_request_context("/search?q=tea&page=2"):
        search_key = search.make_cache_key()
    cache.delete(search_key)
else:  # 0.13: no query_string, every query string shares the path's entry
    cache.delete("view//search")
get("/search?q=tea&page=2")  # fresh: white tea
if hasattr(cache, "delete_cached"):
    PRICES[7] = 36
    cache.delete_cached(product, path="/products/7")
    get("/products/7")  # fresh: 36
    TEAS.append("oolong tea")
    cache.delete_cached(search, "/search", {"page": "2", "q": "tea"})
    get("/search?q=tea&page=2")  # fresh: oolong tea
    STOCK["kettle"] = 3
    cache.delete_cached(stock, "/api/v1/stock")
    get("/api/v1/stock")  # fresh: kettle 3
    FEATURED.remove("cup")
    cache.delete_cached(featured)  # a literal key_prefix needs no path
    get("/featured")  # fresh: no cup

with app.app_context():
    print("== memoized functions")
    # A precautionary delete right before the first call.
    cache.delete_memoized(unit_cost, 42)
    print("unit_cost(42) -> %r" % unit_cost(42))
    print("unit_cost(7) -> %r" % unit_cost(7))
    COSTS[99] = 2
    # 99 was never asked for (unit_cost(7) and (42) are live): correct, deletes nothing.
    cache.delete_memoized(unit_cost, 99)
    print("unit_cost(99) -> %r" % unit_cost(99))
    print("unit_cost(7) -> %r (unchanged data, still cached)" % unit_cost(7))
    COSTS[7] = 12
    cache.delete_memoized(unit_cost, 7)
    print("unit_cost(7) -> %r" % unit_cost(7))

    print("report(2024, fmt='pdf') -> %r" % report(2024, fmt="pdf"))
    print("report(2023) -> %r" % report(2023))
    SALES[2024] = 415
    cache.delete_memoized(report, 2024, fmt="pdf")
    print("report(2024, fmt='pdf') -> %r" % report(2024, fmt="pdf"))
    SALES[2024] = 420
    SALES[2023] = 311
    cache.delete_memoized(report)
    print("report(2024, fmt='pdf') -> %r" % report(2024, fmt="pdf"))
    print("report(2023) -> %r" % report(2023))

    print("== class, instance and static methods")
    print("Catalog.tax_rate('eu') -> %r" % Catalog.tax_rate("eu"))
    TAX["eu"] = 21
    cache.delete_memoized(Catalog.tax_rate, Catalog, "eu")
    print("Catalog.tax_rate('eu') -> %r" % Catalog.tax_rate("eu"))

    cart = Cart(1)
    print("Cart(1).total(5) -> %r" % cart.total(5))
    CARTS[1].append(12)
    cache.delete_memoized(Cart.total, Cart(1), 5)
    print("Cart(1).total(5) -> %r" % cart.total(5))
    CARTS[1].append(4)
    if BOUND_DELETE_INSERTS_SELF:
        cache.delete_memoized(cart.total, 5)
    else:
        cache.delete_memoized(cart.total, cart, 5)
    print("Cart(1).total(5) -> %r" % cart.total(5))
    print("Cart(1).total(0) -> %r" % cart.total(0))
    CARTS[1].append(1)
    cache.delete_memoized(cart.total)
    print("Cart(1).total(5) -> %r" % cart.total(5))
    print("Cart(1).total(0) -> %r" % cart.total(0))
    # A cart never computed: a correct key that is not cached (yet).
    cache.delete_memoized(Cart.total, Cart(2), 5)
    print("Cart(2).total(5) -> %r" % Cart(2).total(5))

    print("Catalog.shipping(2) -> %r" % Catalog.shipping(2))
    SHIPPING[2] = 7
    cache.delete_memoized(Catalog.shipping, 2)
    print("Catalog.shipping(2) -> %r" % Catalog.shipping(2))

print("== everything")
PRICES[3] = 23
FEATURED.append("mug")
TAX["eu"] = 22
COSTS[7] = 13
cache.clear()
get("/products/3")  # fresh: 23
get("/featured")  # fresh: mug
with app.app_context():
    print("Catalog.tax_rate('eu') -> %r" % Catalog.tax_rate("eu"))
    print("unit_cost(7) -> %r" % unit_cost(7))
