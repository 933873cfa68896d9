"""A shop's Flask app on a shared Redis cache (``CACHE_TYPE="RedisCache"``).

What RedisCache does differently from SimpleCache, through Flask-Caching:

- Every key is stored as ``CACHE_KEY_PREFIX`` + key (here ``shop:``), so the prefix meets
  memoize namespaces (``shop:__main__.price_memver``) and view keys
  (``shop:view//products/1``); ``cache.clear()`` is ``KEYS shop:*`` + ``DEL`` and returns
  whether anything was deleted (``False`` on an empty cache).
- A timeout of ``-1`` (like ``0``) means *no expiry*: ``@cached(timeout=-1)`` on
  ``/stats`` still serves after an hour. On SimpleCache the same entry is dead at once.
- ``timeout > 0`` is Redis ``EX``: an entry set at t is still there at exactly
  t + timeout and gone a millisecond later.
- ``timeout <= -2`` is refused by the server: ``cache.set`` raises ``ResponseError``;
  inside ``@cache.memoize(timeout=-3)`` Flask-Caching logs the error (for the value and
  for the version keys' pipeline, with redis-py's annotated message) and returns the
  function's result uncached. ``cache.add(..., timeout=-5)`` creates the key and its
  ``EXPIRE -5`` deletes it: ``True``, yet nothing is stored.
- ``delete`` of an expired key is ``False``. ``delete_many`` returns every key given on
  Flask-Caching 2.5 (cachelib deletes them all, then counts the absent ones); 2.4's own
  ``delete_many`` stops at the first key that was not there.

Under the recorder the Redis server is an in-process fakeredis on the virtual clock.
Run plainly (``python redis_shared.py``) it needs a Redis server at ``REDIS_URL``
(default ``redis://localhost:6379/15``; the script empties that database's ``shop:`` keys
first) and takes about an hour and a minute of real ``time.sleep``.
"""

import os
import time

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(
    CACHE_TYPE="RedisCache",
    CACHE_REDIS_URL=os.environ.get("REDIS_URL", "redis://localhost:6379/15"),
    CACHE_KEY_PREFIX="shop:",
    CACHE_DEFAULT_TIMEOUT=60,
)
cache = Cache(app)

PRICES = {1: 100, 2: 250, 3: 75}
CALLS = {"price": 0, "stock": 0}


@cache.memoize(timeout=30)
def price(product_id):
    CALLS["price"] += 1
    return PRICES.get(product_id)


@cache.memoize(timeout=0)
def catalogue_version():
    return "2024.1"


@cache.memoize(timeout=-3)
def stock(product_id):
    CALLS["stock"] += 1
    return product_id * 7


@app.route("/products/<int:pid>")
@cache.cached(timeout=10)
def product(pid):
    return "product %d costs %s (catalogue %s)" % (pid, price(pid), catalogue_version())


@app.route("/stats")
@cache.cached(timeout=-1, key_prefix="stats")
def stats():
    return "calls: %d" % CALLS["price"]


def main():
    client = app.test_client()
    with app.app_context():
        print("clear on an empty cache:", cache.clear())
        print("price(1) twice:", price(1), price(1), "computed", CALLS["price"], "time(s)")
        print(client.get("/products/1").get_data(as_text=True))
        print(client.get("/products/1").get_data(as_text=True))
        time.sleep(10)
        print("at exactly +10 s, still cached:", client.get("/products/1").get_data(as_text=True))
        time.sleep(0.001)
        print("1 ms later, recomputed:", client.get("/products/1").get_data(as_text=True))

        print(client.get("/stats").get_data(as_text=True))
        time.sleep(3600)
        print("an hour later (timeout=-1):", client.get("/stats").get_data(as_text=True))
        print("price(1) after an hour:", price(1), "computed", CALLS["price"], "time(s)")

        print("stock(2) with timeout=-3:", stock(2), stock(2), "computed", CALLS["stock"], "time(s)")
        try:
            cache.set("bad", 1, timeout=-2)
        except Exception as exc:  # redis.exceptions.ResponseError
            print("set(timeout=-2) raised", type(exc).__name__, exc)

        print("set greeting:", cache.set("greeting", "hello", timeout=5))
        print("add greeting again:", cache.add("greeting", "bonjour"))
        print("add counter with timeout=-5:", cache.add("counter", 1, timeout=-5),
              "then has:", cache.has("counter"))
        print("add flag without expiry:", cache.add("flag", True, timeout=0))
        print("set_many:", cache.set_many({"a": 1, "b": [1, 2], "c": None}, timeout=20))
        print("get_many:", cache.get_many("a", "b", "c", "missing"))
        time.sleep(6)
        print("greeting after 6 s:", cache.get("greeting"), "| delete:", cache.delete("greeting"))
        print("delete_many:", cache.delete_many("a", "missing", "b", "flag"))
        print("has c:", cache.has("c"), "| flag:", cache.get("flag"))

        print("delete_memoized(price, 1):", cache.delete_memoized(price, 1))
        print("price(1):", price(1), "computed", CALLS["price"], "time(s)")
        cache.delete_memoized(price)
        print("price(2) after a version reset:", price(2), "computed", CALLS["price"], "time(s)")
        cache.delete_memoized_verhash(price)
        print("price(2) after delete_memoized_verhash:", price(2))
        time.sleep(31)
        print("price(3) after 31 s:", price(3), "computed", CALLS["price"], "time(s)")
        print("clear:", cache.clear(), "| clear again:", cache.clear())


if __name__ == "__main__":
    main()
