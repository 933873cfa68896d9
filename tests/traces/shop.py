import time
from flask import Flask, request, jsonify
from flask_caching import Cache

app = Flask(__name__)
cache = Cache(app, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 120})
PRODUCTS = {1: {"name": "pen", "price": 3}, 2: {"name": "ink", "price": 7}}
calls = {"n": 0}


@cache.memoize(timeout=30)
def product(pid):
    calls["n"] += 1
    return dict(PRODUCTS.get(pid, {}), pid=pid)


@cache.memoize(timeout=60)
def cart_total(*pids, discount=0):
    # nested memoized calls
    return sum(product(p).get("price", 0) for p in pids) - discount


class Customer:
    def __init__(self, cid, tier):
        self.cid, self.tier = cid, tier

    def __repr__(self):
        return "Customer(%r)" % self.cid

    @cache.memoize(timeout=45)
    def recommendations(self, limit=2):
        return [p["name"] for p in PRODUCTS.values()][:limit]

    @classmethod
    @cache.memoize()
    def count(cls):
        return 2


@app.route("/p/<int:pid>")
@cache.cached(timeout=20)
def product_view(pid):
    return jsonify(product(pid))


@app.route("/search")
@cache.cached(timeout=20, query_string=True, cache_none=True)
def search():
    q = request.args.get("q", "")
    return ",".join(sorted(v["name"] for v in PRODUCTS.values() if q in v["name"])) or None


client = app.test_client()
with app.app_context():
    alice, bob = Customer(1, "gold"), Customer(2, "basic")
    print(product(1), product(1), product(2))
    print(cart_total(1, 2), cart_total(1, 2, discount=1), cart_total(2, 1))
    print(alice.recommendations(), bob.recommendations(limit=1), alice.recommendations(2))
    print(Customer.count(), alice.count())
    print(client.get("/p/1").get_json(), client.get("/p/1").get_json(), client.get("/p/9").get_json())
    print(client.get("/search?q=p").data, client.get("/search?q=zz").data, client.get("/search?q=zz").data)
    PRODUCTS[1]["price"] = 4
    cache.delete_memoized(product, 1)
    print(product(1), cart_total(1, 2))
    cache.delete_memoized(cart_total)
    print(cart_total(1, 2))
    try:
        cache.delete_memoized(Customer.count, 5)
    except Exception as e:
        print("delete failed:", type(e).__name__)
    cache.delete_memoized(alice.recommendations)
    print(alice.recommendations(), bob.recommendations(limit=1))
    time.sleep(31)
    print(product(2), client.get("/p/2").get_json())
    time.sleep(100)
    print(cache.get("view//p/1"), cache.get_many("a", "b"), cache.set("a", [1, 2]), cache.get("a"))
    print(cache.delete("view//p/2"), cache.delete("view//p/2"), cache.clear(), product(1))
