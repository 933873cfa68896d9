"""Pitfall `classmethod-without-class`: a memoized classmethod deleted without its class.

``Calc.get_number`` is ``@classmethod`` over ``@cache.memoize()``, so the memoized function
receives ``cls`` first and ``Calc.get_number(5)`` is keyed as ``get_number(Calc, 5)``. The
delete ``cache.delete_memoized(Calc.get_number, 5)`` lacks the class: Flask-Caching (2.4,
2.5) raises ``ValueError`` and deletes nothing; Flask-Cache 0.13 logs a ``TypeError``, returns
``None`` and deletes nothing. Either way the next call is served the stale number.

Fix: pass the class as the first argument, ``cache.delete_memoized(Calc.get_number, Calc, 5)``;
``cache.delete_memoized(Calc.get_number)`` invalidates every call of ``get_number``.
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


class Calc(object):
    offset = 5

    @classmethod
    @cache.memoize(timeout=600)
    def get_number(cls, x):
        return cls.offset + x


# An app context, as in a view or a CLI command (Flask-Cache 0.13 reads `current_app.debug`
# to decide whether to swallow the error: outside one it raises RuntimeError instead).
with app.app_context():
    print("Calc.get_number(5) ->", Calc.get_number(5))
    Calc.offset = 7
    try:
        cache.delete_memoized(Calc.get_number, 5)  # explain: classmethod-without-class
    except ValueError as exc:
        print("ValueError:", exc)
    print("Calc.get_number(5) ->", Calc.get_number(5))  # stale: 10
