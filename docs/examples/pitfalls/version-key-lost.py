"""Pitfall ``version-key-lost``: a memoized function's version key deleted under live entries.

Every memoize key of ``price`` ends with the version string stored under the version key
``__main__.price_memver``. ``cache.delete_memoized_verhash(price)`` deletes that key, so
the next call mints a new version: *every* entry of ``price`` becomes unreachable at once.
The user only meant to drop the price of tea, but the untouched ``price("cake")`` is
computed again too, and the old entries of both stay in the store, orphaned, until their
own timeout (an hour here). The version key is also lost, with the same effect, when
SimpleCache prunes it under a small ``CACHE_THRESHOLD``, and in Flask-Caching <= 2.4 and
Flask-Cache 0.13 when it expires before the entries written under it.

Fix: ``cache.delete_memoized(price, "tea")`` deletes the one entry and keeps the version
key, so ``price("cake")`` is still served from the cache.
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

PRICES = {"tea": 3, "cake": 5}  # the "database"
QUERIES = []  # every item the body looked up


@cache.memoize(timeout=3600)
def price(item):
    QUERIES.append(item)
    return PRICES[item]


print("price('tea') ->", price("tea"), " price('cake') ->", price("cake"))
PRICES["tea"] = 4
cache.delete_memoized_verhash(price)  # explain: version-key-lost
print("price('tea') ->", price("tea"), " price('cake') ->", price("cake"))
print("queries:", QUERIES)  # cake was looked up twice: its entry was orphaned
