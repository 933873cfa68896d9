"""An app on RedisCache with an empty ``CACHE_KEY_PREFIX``: keys are stored as given, and
``cache.clear()`` is ``FLUSHDB`` (it returns ``True`` even on an empty server).

It exercises Redis timeouts through the decorators and the backend API without nested
cached calls, so that ``flaskcache explore --check-trace`` can run it on the reference
model as well as ``flaskcache replay`` on the engine.
"""

import time

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(
    CACHE_TYPE="RedisCache",
    CACHE_REDIS_URL="redis://localhost:6379/15",
    CACHE_KEY_PREFIX="",
    CACHE_DEFAULT_TIMEOUT=20,
)
cache = Cache(app)
STATE = {"n": 0}


@cache.memoize(timeout=5)
def square(x):
    STATE["n"] += 1
    return x * x


@cache.memoize(timeout=-1)
def forever(x):
    return [x, None, True]


@cache.memoize(timeout=-4)
def refused(x):
    return x


@app.route("/page/<name>")
@cache.cached(timeout=3)
def page(name):
    STATE["n"] += 1
    return "page %s #%d" % (name, STATE["n"])


def main():
    client = app.test_client()
    with app.app_context():
        print("clear on an empty server:", cache.clear())
        print(square(3), square(3), square(4), "computed", STATE["n"])
        time.sleep(5)
        print("at +5 s:", square(3))
        time.sleep(0.001)
        print("at +5.001 s:", square(3))
        print(forever(1), forever(1))
        print("refused timeout, uncached:", refused(1), refused(1))
        print(client.get("/page/a").data, client.get("/page/a").data)
        time.sleep(4)
        print(client.get("/page/a").data)
        cache.delete_memoized(square, 4)
        print("square(4) after delete:", square(4))
        cache.delete_memoized(square)
        print("square(3) after reset:", square(3))
        for timeout in (None, 0, -1, 7, -2, 2**62):
            try:
                print("set", timeout, cache.set("k%s" % timeout, timeout, timeout=timeout))
            except Exception as exc:
                print("set", timeout, "raised", type(exc).__name__)
            try:
                print("add", timeout, cache.add("a%s" % timeout, "v", timeout=timeout))
            except Exception as exc:
                print("add", timeout, "raised", type(exc).__name__)
        print(cache.get_many("kNone", "k0", "k-1", "k7", "k-2", "aNone", "a-2"))
        time.sleep(8)
        print(cache.get_many("kNone", "k0", "k-1", "k7"))
        print("set_many:", cache.set_many({"x": 1, "y": b"\x00y"}, timeout=0))
        try:
            cache.set_many({"p": 1, "q": 2}, timeout=-9)
        except Exception as exc:
            print("set_many refused:", type(exc).__name__)
        print("delete_many:", cache.delete_many("x", "nope", "y"))
        print("has x:", cache.has("x"), "delete k0:", cache.delete("k0"), cache.delete("k0"))
        print("clear:", cache.clear(), cache.get("k-1"))


if __name__ == "__main__":
    main()
