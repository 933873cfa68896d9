"""Version keys that hold something other than a version string.

A user (or another app) wrote to a memoize version key. Flask-Caching's
``_memoize_version`` mints a version only where the stored one ``is None``, writes every
version back when it minted one, and only then joins them: ``"".join`` raises
``TypeError`` on the non-string. Inside a memoized call that error is logged and the
function runs uncached; the version it minted stays written. ``delete_memoized(f, *args)``
raises it. ``delete_memoized(f)`` replaces the whole list with a fresh version, so it never
joins the stored value and succeeds.
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
app.config.update(CACHE_DEFAULT_TIMEOUT=60, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)


@cache.memoize(timeout=60)
def f(a):
    return a * 2


class C:
    def __repr__(self):
        return "C()"

    @cache.memoize(timeout=60)
    def m(self, a):
        return a + 1


def main():
    with app.app_context():
        cache.set("__main__.f_memver", 5)
        print("f(1) with an int version:", f(1), f(1))
        cache.delete_memoized(f)
        print("after delete_memoized(f):", f(1), f(1), cache.get("__main__.f_memver") != 5)
        cache.set("__main__.C.m_memver", 7)
        c = C()
        print("C().m(1) with an int function version:", c.m(1), c.m(1))
        try:
            cache.delete_memoized(C.m, c, 1)
        except TypeError as exc:
            print("delete_memoized(C.m, c, 1) raised", exc)
        cache.set("__main__.C.m_memver", [1])
        print("a list version:", c.m(2))
        cache.delete_memoized(C.m)
        print("after delete_memoized(C.m):", c.m(2), c.m(2))


if __name__ == "__main__":
    main()
