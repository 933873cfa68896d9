"""Pitfall `instance-method-without-instance`: a memoized method deleted through the class
without the instance.

``Calc.inst`` is a memoized instance method; ``Calc(1).inst(5)`` is keyed as
``inst('Calc(1)', 5)`` (the instance by its ``repr``) plus a per-instance version. The delete
``cache.delete_memoized(Calc.inst, 5)`` reaches the method through the class, so nothing
supplies ``self``: the first argument, ``5``, is taken as the instance. The key names
``inst('5', None)``, the entry survives, the next call is served the stale value, and a
never-expiring junk version key for "instance ``5``" is written as a side effect.

Fix: pass the instance, ``cache.delete_memoized(Calc.inst, Calc(1), 5)`` (or, on
Flask-Caching 2.5, through the bound method: ``cache.delete_memoized(calc.inst, 5)``).
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

RATES = {1: 10}  # the "database"


class Calc(object):
    def __init__(self, n):
        self.n = n

    def __repr__(self):
        return "Calc(%d)" % self.n

    @cache.memoize(timeout=600)
    def inst(self, x):
        return RATES[self.n] * x


calc = Calc(1)
# An app context, as in a view or a CLI command (Flask-Cache 0.13 reads `current_app.debug`
# to decide whether to swallow an error: outside one it raises RuntimeError instead).
with app.app_context():
    print("Calc(1).inst(5) ->", calc.inst(5))
    RATES[1] = 20
    cache.delete_memoized(Calc.inst, 5)  # explain: instance-method-without-instance
    print("Calc(1).inst(5) ->", calc.inst(5))  # stale: 50
