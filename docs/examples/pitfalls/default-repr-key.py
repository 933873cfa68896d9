"""Pitfall `default-repr-key`: a memoized method of a class without ``__repr__``.

Memoize keys name the instance by ``repr(self)``. ``Service`` has no ``__repr__``, so that
is the default ``<__main__.Service object at 0x7f...>``: the memory address of that one
object. The app makes a new ``Service`` per request (as a request-scoped object would be),
so every request misses and stores one more entry nothing will ever read again. And
``cache.delete_memoized(Service.lookup, Service(), 1)`` names yet another object: its key
matches no entry, and the caller's own instance keeps being served the stale price.

Fix: give the class an identity that outlives the object: a ``__repr__`` built from its
data (this stateless service can return ``"Service()"``), or a ``__caching_id__`` on
Flask-Caching 2.5. With the class as it is, ``cache.delete_memoized(Service.lookup)``
invalidates the method's entries of every instance.
(The keys hold addresses: two recordings of this script are not byte-identical.)
"""

from flask import Flask, request

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    CACHE_ARGS = {"with_jinja2_ext": False}

app = Flask(__name__)
app.config.update(**CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)

PRICES = {1: 10}  # the "database"
RUNS = {"lookup": 0}
# Every Service made stays referenced (as by a request log): CPython would otherwise give a
# new object the address of a freed one, and the keys would depend on the allocator.
MADE = []


class Service(object):  # no __repr__
    @cache.memoize(timeout=600)
    def lookup(self, item):
        RUNS["lookup"] += 1
        return "item %d costs %d" % (item, PRICES[item])


@app.route("/price/<int:item>")
def price(item):
    svc = Service()  # a new instance per request
    MADE.append(svc)
    return "%s (lookup ran %d times)" % (svc.lookup(item), RUNS["lookup"])


@app.route("/price/<int:item>", methods=["POST"])
def set_price(item):
    svc = Service()
    MADE.append(svc)
    old = svc.lookup(item)
    PRICES[item] = int(request.form["price"])
    cache.delete_memoized(Service.lookup, Service(), item)  # explain: default-repr-key
    return "was: %s, now: %s" % (old, svc.lookup(item))  # stale: still 10


client = app.test_client()
print("GET  /price/1 ->", client.get("/price/1").get_data(as_text=True))
print("GET  /price/1 ->", client.get("/price/1").get_data(as_text=True))  # a miss again
print("POST /price/1 ->", client.post("/price/1", data={"price": "12"}).get_data(as_text=True))
