"""A shop's Flask app on a real Redis server (``CACHE_TYPE="RedisCache"``).

The Rust side (``adapters/redis/tests/flask_interop.rs``) registers the same functions
under the same names (module ``shop_app``, the ``__name__`` of this module when imported),
so both compute the same keys on the same server:

- ``price(product_id)``: ``@cache.memoize(timeout=600)``, an ``int`` (stored as ASCII
  digits by cachelib's RedisSerializer);
- ``Catalog("main").stock(product_id)``: a memoized instance method (``Catalog`` has a
  stable ``__repr__``, ``Catalog('main')``, so the per-instance version key is the same in
  every process), an ``int``;
- ``Catalog.discount(product_id)``: a memoized classmethod, a ``float`` (pickled);
- ``GET /products/<int:pid>``: ``@cache.cached(timeout=600)``, a ``str`` (pickled) stored
  as ``view//products/<pid>``; it shows the price (through ``price``), so a price change
  must invalidate both.

Configuration from the environment: ``SHOP_REDIS_URL`` (``CACHE_REDIS_URL``) and
``SHOP_CACHE_PREFIX`` (``CACHE_KEY_PREFIX``, default ``shop:``). ``BODY_RUNS`` counts how
often each body ran in this process: a call whose body did not run was a cache hit. The
"database" is the module-level dicts (``write_price`` changes one record), or for prices
the JSON file at ``SHOP_DB``.
"""

import json
import os

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(
    CACHE_TYPE="RedisCache",
    CACHE_REDIS_URL=os.environ.get("SHOP_REDIS_URL", "redis://127.0.0.1:6379/0"),
    CACHE_KEY_PREFIX=os.environ.get("SHOP_CACHE_PREFIX", "shop:"),
    CACHE_DEFAULT_TIMEOUT=300,
)
cache = Cache(app)

PRICES = {1: 100, 2: 250, 3: 75}
STOCK = {1: 12, 2: 0, 3: 40}
DISCOUNTS = {1: 0.1, 2: 0.25, 3: 0.0}
NAMES = {1: "kettle", 2: "teapot", 3: "mug"}
BODY_RUNS = {"price": 0, "stock": 0, "discount": 0, "product": 0}


def write_price(product_id, value):
    """The database write: the cached results for this record are now stale."""
    PRICES[product_id] = value


def load_price(product_id):
    """The price in the database: ``SHOP_DB`` (a JSON file ``{"1": 100, ...}``, the one
    adapters/redis/examples/invalidate_after_write.rs writes) when set, else ``PRICES``."""
    path = os.environ.get("SHOP_DB")
    if path:
        with open(path) as f:
            return json.load(f)[str(product_id)]
    return PRICES[product_id]


@cache.memoize(timeout=600)
def price(product_id):
    BODY_RUNS["price"] += 1
    return load_price(product_id)


class Catalog:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Catalog(%r)" % self.name

    @cache.memoize(timeout=600)
    def stock(self, product_id):
        BODY_RUNS["stock"] += 1
        return STOCK[product_id]

    @classmethod
    @cache.memoize(timeout=600)
    def discount(cls, product_id):
        BODY_RUNS["discount"] += 1
        return DISCOUNTS[product_id]


CATALOG = Catalog("main")


@app.route("/products/<int:pid>")
@cache.cached(timeout=600)
def product(pid):
    BODY_RUNS["product"] += 1
    return "product %d: %s at %d" % (pid, NAMES[pid], price(pid))
