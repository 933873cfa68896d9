"""An in-process Redis server (fakeredis) on the recorder's virtual clock.

Recording a `RedisCache` app against a real server would make traces depend on wall-clock
time and on what the server already holds. Instead the backend's client is replaced by a
`fakeredis.FakeRedis` on a fresh, empty `FakeServer` whose clock is the recorder's:

- fakeredis reads the time once per command (`fakeredis._socket._base` in 2.40,
  `fakeredis._basefakesocket` in 2.37, calls `time.time()` and stores it as every
  database's `time`); that module's `time` is replaced by an object whose `time()` is the
  virtual clock;
- fakeredis 2.40 words a refused `SET … EX` as Redis before 6.2 did (`invalid expire
  time in set`); Redis 7 says `invalid expire time in 'set' command`, which is what the
  trace should show, so the message template is replaced;
- fakeredis accepts any `EXPIRE` time; Redis 7 refuses seconds outside
  `LLONG_MIN / 1000 ..= LLONG_MAX / 1000` and deadlines past `LLONG_MAX` milliseconds
  (`invalid expire time in 'expire' command`), so `EXPIRE` checks that first;
- fakeredis (2.37 and 2.40) truncates a `SETEX` deadline to a whole second
  (`int(time + seconds)`); Redis 7 keeps it to the millisecond (`SETEX k 3 v` then `PTTL k`
  answers 3000 on redis-server 7.0.15), so `SETEX` sets the deadline as `SET … EX` does:
  `time + seconds`. Werkzeug's `RedisCache` (Flask-Cache 0.13) writes with `SETEX`.

`engine/tests/store_redis_driver.py` uses the same server for the differential test of the
store's Redis flavours.
"""

import time as _time

REDIS7_INVALID_EXPIRE_MSG = "ERR invalid expire time in '{}' command"
LLONG_MAX = 2 ** 63 - 1


class _VirtualTime(object):
    """The `time` module, except that `time()` is the given clock."""

    def __init__(self, clock):
        self._clock = clock

    def time(self):
        return self._clock()

    def __getattr__(self, name):
        return getattr(_time, name)


def _socket_module():
    """The fakeredis module whose `time.time()` stamps every command: `_socket._base` in
    fakeredis 2.40 (Python 3.11), `_basefakesocket` in 2.37 (the last for Python 3.7)."""
    import importlib

    for name in ("fakeredis._socket._base", "fakeredis._basefakesocket"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("neither fakeredis._socket._base nor fakeredis._basefakesocket imports")


def missing():
    """Why fakeredis cannot be used here, or None when it can."""
    try:
        import fakeredis  # noqa: F401
        import fakeredis._msgs  # noqa: F401
        _socket_module()
    except Exception as exc:  # noqa: BLE001 - reported to the user
        return "%s: %s" % (type(exc).__name__, exc)
    return None


def fake_client(clock):
    """A `fakeredis.FakeRedis` client of a new, empty server that reads `clock()` (seconds,
    a float) as the time and answers as Redis 7 does where fakeredis 2.40 differs."""
    import fakeredis
    import fakeredis._msgs as msgs

    _socket_module().time = _VirtualTime(clock)
    msgs.INVALID_EXPIRE_MSG = REDIS7_INVALID_EXPIRE_MSG
    _check_expire_range()
    _setex_to_the_millisecond()
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def _check_expire_range():
    from fakeredis._helpers import SimpleError
    from fakeredis.commands_mixins.generic_mixin import GenericCommandsMixin

    original = GenericCommandsMixin.expire
    if getattr(original, "_redis7_range", False):
        return

    def expire(self, key, seconds, *args):
        # expireGenericCommand: C division truncates toward zero.
        base = int(self._db.time * 1000)
        if not -(LLONG_MAX // 1000) <= seconds <= LLONG_MAX // 1000 \
                or seconds * 1000 > LLONG_MAX - base:
            raise SimpleError(REDIS7_INVALID_EXPIRE_MSG.format("expire"))
        return original(self, key, seconds, *args)

    expire._redis7_range = True
    expire.__name__ = original.__name__
    GenericCommandsMixin.expire = expire


def _setex_to_the_millisecond():
    from fakeredis.commands_mixins.string_mixin import StringCommandsMixin

    original = StringCommandsMixin.setex
    if getattr(original, "_redis7_deadline", False):
        return

    def setex(self, key, seconds, value):
        result = original(self, key, seconds, value)
        key.expireat = self._db.time + seconds
        return result

    setex._redis7_deadline = True
    setex.__name__ = original.__name__
    StringCommandsMixin.setex = setex
