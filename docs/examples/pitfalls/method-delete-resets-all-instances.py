"""Pitfall `method-delete-resets-all-instances`: ``obj.method.delete_memoized()`` forgets
the method's entries of every instance, not just of ``obj``.

Every memoized function carries a ``delete_memoized`` attribute, and through a bound method
``a.inst.delete_memoized`` reads like "forget ``a``'s entries". But the attribute is a plain
function stored on the decorated function: it knows nothing of ``a`` and calls
``cache.delete_memoized`` with the unbound function, which resets the version of
``Calc.inst`` as a whole. ``b``'s entry is orphaned as well and recomputed on its next call.
No stale value here: the cost is the needless misses (the whole method's cache, for every
instance, on every such delete).

Fix: ``cache.delete_memoized(a.inst)`` resets only ``a``'s version (by its repr
``Calc(1)``); ``cache.delete_memoized(a.inst, 5)`` (2.5) or
``cache.delete_memoized(Calc.inst, Calc(1), 5)`` deletes just that call.
"""

from flask import Flask

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

RATES = {1: 10, 2: 30}  # the "database"
RUNS = {1: 0, 2: 0}  # how often each instance's body ran


class Calc(object):
    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "Calc(%d)" % self.n

    @cache.memoize(timeout=600)
    def inst(self, x):
        RUNS[self.n] += 1
        return RATES[self.n] * x


a, b = Calc(1), Calc(2)
with app.app_context():
    print("Calc(1).inst(5) ->", a.inst(5))
    print("Calc(2).inst(5) ->", b.inst(5))
    RATES[1] = 20  # only Calc(1)'s data changed
    a.inst.delete_memoized()  # explain: method-delete-resets-all-instances
    print("Calc(1).inst(5) ->", a.inst(5))
    print("Calc(2).inst(5) ->", b.inst(5), "(runs of its body: %d)" % RUNS[2])  # 2: entry lost
