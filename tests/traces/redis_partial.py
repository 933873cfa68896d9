"""A RedisCache call that fails half-way and keeps its first half.

cachelib's ``RedisCache.add`` is ``SETNX`` then ``EXPIRE``. Redis refuses an ``EXPIRE``
whose deadline does not fit in 64-bit milliseconds, so ``cache.add("k", "v",
timeout=10**16)`` raises ``ResponseError`` after ``SETNX`` already created the key: the
next ``cache.get("k")`` returns ``'v'``, and the key never expires. A refused ``SET ... EX``
in ``set_many``'s pipeline, by contrast, stores nothing. Replaying this needs each failed
call's real effect on the store.
"""

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(
    CACHE_TYPE="RedisCache",
    CACHE_REDIS_URL="redis://localhost:6379/15",
    CACHE_KEY_PREFIX="partial:",
    CACHE_DEFAULT_TIMEOUT=60,
)
cache = Cache(app)

HUGE = 10**16


def main():
    with app.app_context():
        try:
            cache.add("k", "v", timeout=HUGE)
        except Exception as exc:  # redis.exceptions.ResponseError
            print("add raised", type(exc).__name__, exc)
        print("get after the failed add:", cache.get("k"))
        print("add again:", cache.add("k", "w"))
        print("has:", cache.has("k"), "| delete:", cache.delete("k"), "| get:", cache.get("k"))
        try:
            cache.add("n", 5, timeout=-(10**16))
        except Exception as exc:
            print("add with a huge negative timeout raised", type(exc).__name__, exc)
        print("get n:", cache.get("n"))
        print("add with a refused timeout inside set_many keeps nothing:")
        try:
            cache.set_many({"a": 1, "b": 2}, timeout=HUGE)
        except Exception as exc:
            print("  set_many raised", type(exc).__name__)
        print("  get_many:", cache.get_many("a", "b"))


if __name__ == "__main__":
    main()
