"""Direct cache calls whose keys are not strings, on Flask-Cache 0.13's RedisCache.

Werkzeug 0.16's ``RedisCache`` names every key ``self.key_prefix + key``, so a key that is
not a ``str`` raises ``TypeError: can only concatenate str (not "int") to str`` in ``get``,
``set``, ``add``, ``delete`` and ``set_many`` (nothing is stored), with or without a
prefix. Only ``get_many`` and ``delete_many`` without a prefix skip the
concatenation and hand the keys to redis-py, which encodes ints and floats and refuses a
bool or a function (``DataError``). Flask-Cache 0.13's proxies return ``None`` for
``set``/``delete``/``delete_many``; the backend's deletes reply Redis's counts.

Recorded on Flask-Cache 0.13.1 against fakeredis (the host is never contacted), with an
empty prefix. Function keys show memory addresses: the trace
differs from run to run.
"""

from flask import Flask
from flask_cache import Cache


def helper():
    return "a plain function, used as a key"


def attempt(label, call, *args):
    try:
        print("%-26s -> %r" % (label, call(*args)))
    except Exception as exc:  # noqa: BLE001 - the point is to show it
        print("%-26s raises %s: %s" % (label, type(exc).__name__, exc))


app = Flask(__name__)
app.config.update(CACHE_TYPE="redis", CACHE_REDIS_HOST="localhost", CACHE_KEY_PREFIX="")
cache = Cache(app, with_jinja2_ext=False)
with app.app_context():
    attempt("set('42', 'str')", cache.set, "42", "str")
    attempt("set(42, 'int')", cache.set, 42, "int")
    attempt("get(42)", cache.get, 42)
    attempt("add(True, 'true')", cache.add, True, "true")
    attempt("delete(helper)", cache.delete, helper)
    attempt("set_many({'a': 1, 7: 2})", cache.set_many, {"a": 1, 7: 2})
    attempt("get('a')", cache.get, "a")
    # Without a prefix the keys go to redis-py as they are.
    attempt("get_many(42, 7.5, 'a')", cache.get_many, 42, 7.5, "a")
    attempt("get_many(42, True)", cache.get_many, 42, True)
    attempt("get_many(helper)", cache.get_many, helper)
    attempt("delete_many(42, 'a')", cache.delete_many, 42, "a")
    attempt("delete_many(helper)", cache.delete_many, helper)
    attempt("get('42')", cache.get, "42")
