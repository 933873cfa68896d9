"""Billing code whose memoized functions are invalidated correctly: `flaskcache explain`
must report no finding on its traces.

- ``invoice(year, fmt="html")``: when a year's figures change, both formats of that year
  are deleted, ``delete_memoized(invoice, 2024, fmt="pdf")`` (never rendered: deletes
  nothing) and ``delete_memoized(invoice, 2024)`` (the live html entry);
- ``Cart.total``: after cart 2 changes, its entry is deleted through the bound method
  (``delete_memoized(Cart(2).total, 5)``, Flask-Caching 2.5 inserts the instance; 2.4 needs
  ``delete_memoized(Cart.total, Cart(2), 5)``) while only cart 1's total is cached;
- ``vat(net)``: the VAT rate changes, every VAT amount depends on it, so the whole function
  is invalidated with ``delete_memoized(vat)``; one amount happens to round to the same
  whole number as before;
- ``search(term, **filters)``: the same filters passed in another keyword order are one
  call and share one key (a hit in both releases).

Runs with plain ``python clean_billing.py`` on Flask-Caching 2.5 / 2.4.
"""

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=300)
cache = Cache(app)
BOUND_DELETE_INSERTS_SELF = hasattr(cache, "delete_cached")  # Flask-Caching 2.5

# The "database".
SALES = {2023: 310, 2024: 410}
CARTS = {1: [35, 20], 2: [12, 8]}
RATE = {"vat": 0.20}
PRODUCTS = [("lamp", "red", "L"), ("lamp", "blue", "S"), ("desk", "red", "L")]
RUNS = {"count": 0}


def run():
    RUNS["count"] += 1
    return RUNS["count"]


@cache.memoize(timeout=120)
def invoice(year, fmt="html"):
    return "%s invoice %d: %d (run %d)" % (fmt, year, SALES[year], run())


class Cart(object):
    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "Cart(%d)" % self.n

    @cache.memoize(timeout=120)
    def total(self, discount):
        return sum(CARTS[self.n]) - discount


@cache.memoize(timeout=120)
def vat(net):
    run()
    return round(net * RATE["vat"])


@cache.memoize(timeout=120)
def search(term, **filters):
    hits = [p for p in PRODUCTS if p[0] == term
            and all(p[{"color": 1, "size": 2}[k]] == v for k, v in sorted(filters.items()))]
    return (hits, run())


with app.app_context():
    print("== both formats of a year")
    print("invoice(2024) -> %r" % invoice(2024))
    SALES[2024] = 415
    cache.delete_memoized(invoice, 2024, fmt="pdf")  # never rendered: nothing to delete
    cache.delete_memoized(invoice, 2024)
    print("invoice(2024) -> %r" % invoice(2024))  # fresh: 415

    print("== another cart's total")
    print("Cart(1).total(5) -> %r" % Cart(1).total(5))
    CARTS[2].append(3)
    if BOUND_DELETE_INSERTS_SELF:
        cache.delete_memoized(Cart(2).total, 5)  # not computed yet: nothing to delete
    else:
        cache.delete_memoized(Cart.total, Cart(2), 5)
    print("Cart(2).total(5) -> %r" % Cart(2).total(5))
    print("Cart(1).total(5) -> %r (unchanged, still cached)" % Cart(1).total(5))

    print("== a rate every entry depends on")
    print("vat(10) -> %r, vat(100) -> %r" % (vat(10), vat(100)))
    RATE["vat"] = 0.21
    cache.delete_memoized(vat)
    print("vat(10) -> %r, vat(100) -> %r" % (vat(10), vat(100)))  # 2 (2.1 rounds to 2), 21

    print("== keyword order")
    print("search('lamp', color='red', size='L') -> %r" % (search("lamp", color="red", size="L"),))
    print("search('lamp', size='L', color='red') -> %r" % (search("lamp", size="L", color="red"),))
