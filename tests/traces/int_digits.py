"""Integers too long for ``repr``.

CPython refuses to convert an ``int`` of more than 4,300 decimal digits to text
(``ValueError: Exceeds the limit (4300 digits) for integer string conversion``; 3.11 and
later, and 3.7 since 3.7.14). A memoized call with such an argument cannot build its key:
Flask-Caching logs the error and runs the function uncached, every time; a call at the
limit is cached as usual. ``delete_memoized`` with such an argument raises.
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
CALLS = {"n": 0}


@cache.memoize(timeout=60)
def digits(x, extra=None):
    CALLS["n"] += 1
    return CALLS["n"]


def main():
    at_limit = 10**4299  # 4,300 digits
    over = 10**4300  # 4,301 digits
    with app.app_context():
        print("at the limit, cached:", digits(at_limit), digits(at_limit))
        print("negative at the limit:", digits(-at_limit), digits(-at_limit))
        print("over the limit, uncached:", digits(over), digits(over))
        print("inside a list:", digits([1, over]), digits([1, over]))
        print("as a keyword:", digits(1, extra={"k": -over}), digits(1, extra={"k": -over}))
        try:
            cache.delete_memoized(digits, over)
        except ValueError as exc:
            print("delete_memoized raised ValueError:", str(exc)[:40])
        cache.delete_memoized(digits, at_limit)
        print("after deleting the call at the limit:", digits(at_limit))


if __name__ == "__main__":
    main()
