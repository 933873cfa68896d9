"""Objects with the default repr (``<__main__.Session object at 0x7f...>``).

Flask-Caching builds memoize keys from ``repr()``, so such an object keys by its address:
calls with the same object hit within the process, calls with another object (a new
address) miss, and ``args_to_ignore`` makes the object irrelevant (always a hit). A memoized
method of a class without ``__repr__`` gets a version key per instance; in 2.5 its name is
the sanitised repr, address included. Values read back from the cache are unpickled copies:
the same class, a new address. A function passed as an argument keys by its repr too.

The trace shows the addresses of this run, so it differs from run to run: it is compared by
replaying it, not byte for byte.
"""

from flask import Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
    LEGACY = False
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    CACHE_ARGS = {"with_jinja2_ext": False}
    LEGACY = True

app = Flask(__name__)
app.config.update(CACHE_DEFAULT_TIMEOUT=300, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)
RUNS = {"n": 0}


class Session(object):
    """No __repr__: repr() shows the address."""

    def __init__(self, user):
        self.user = user

    @cache.memoize(timeout=60)
    def load(self, key):
        RUNS["n"] += 1
        return "%s:%s:%d" % (self.user, key, RUNS["n"])


@cache.memoize(timeout=60)
def render(session, page):
    RUNS["n"] += 1
    return "page %s for %s (%d)" % (page, session.user, RUNS["n"])


if not LEGACY:

    @cache.memoize(timeout=60, args_to_ignore=["session"])
    def render_any(session, page):
        RUNS["n"] += 1
        return "any page %s (%d)" % (page, RUNS["n"])


@cache.memoize(timeout=60)
def make_session(user):
    return Session(user)


@cache.memoize(timeout=60)
def apply(fn, x):
    RUNS["n"] += 1
    return fn(x)


def double(x):
    return 2 * x


def main():
    ann, bob = Session("ann"), Session("bob")
    with app.app_context():
        print("load", ann.load("a"), ann.load("a"), bob.load("a"))
        print("render", render(ann, 1), render(ann, 1), render(bob, 1))
        if not LEGACY:
            print("render_any", render_any(ann, 2), render_any(bob, 2), render_any(Session("x"), 2))
        cache.delete_memoized(ann.load)
        print("after delete_memoized(ann.load)", ann.load("a"), bob.load("a"))
        cache.delete_memoized(render, ann, 1)
        print("after delete_memoized(render, ann, 1)", render(ann, 1), render(bob, 1))
        first = make_session("carl")
        again = make_session("carl")
        print("make_session: a copy on the hit", first.user == again.user, first is not again)
        cache.set("session", ann)
        back = cache.get("session")
        print("get: a copy", back.user, back is not ann)
        print("get_many", [s.user for s in cache.get_many("session", "nothing") if s is not None])
        print("apply", apply(double, 4), apply(double, 4), apply(lambda x: x + 1, 4))
        cache.set("mixed", {"who": ann, "when": [1, bob]})
        print("mixed", sorted(cache.get("mixed")))


if __name__ == "__main__":
    main()
