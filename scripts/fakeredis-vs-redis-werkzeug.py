"""The recorder's adapted fakeredis against a real redis-server, for Werkzeug's RedisCache.

Sends the same 3 x 3,000 random Werkzeug 0.16 `RedisCache` calls (prefixes "", "p_",
"fc[x]?_"; timeouts None, 0, -1, -2, -5, 50, 100, 2^40, 2^62, -2^62, 2^63 - 1) to the
fakeredis server the recorder uses (`flaskcache_recorder/redis_server.py`) and to a real
server on PORT, and prints how many replies or final keyspaces differ. The clock stands
still: both servers read the wall clock within the same moment. It flushes the real
server's database 0. Run with the Flask-Cache 0.13 venv:

    redis-server --port 6392 --save '' &
    .venv-fc013-redis/bin/python -W ignore scripts/fakeredis-vs-redis-werkzeug.py 6392
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sim", "recorder"))
from flaskcache_recorder import redis_server
import redis
from werkzeug.contrib.cache import RedisCache

real = redis.Redis(port=int(sys.argv[1]))
fake = redis_server.fake_client(time.time)
KEYS = ["k%d" % i for i in range(6)] + ["view//x"]
VALUES = [None, True, 0, 5, -70000, 10**25, 1.5, "", "abc", "é€", b"\x00\xff", [1, 2]]
TIMEOUTS = [None, 0, -1, -2, -5, 50, 100, 2**40, 2**62, -2**62, 2**63 - 1]
def ops(rng, n):
    for _ in range(n):
        op = rng.choice(["get", "get_many", "set", "add", "set_many", "delete", "delete_many", "has", "clear"])
        k = rng.choice(KEYS); ks = [rng.choice(KEYS) for _ in range(rng.randrange(4))]
        yield op, k, ks, rng.choice(VALUES), rng.choice(TIMEOUTS)
def call(c, op, k, ks, v, t):
    try:
        if op == "get": return c.get(k)
        if op == "get_many": return c.get_many(*ks)
        if op == "set": return c.set(k, v, t)
        if op == "add": return c.add(k, v, t)
        if op == "set_many": return c.set_many({x: v for x in ks}, t)
        if op == "delete": return c.delete(k)
        if op == "delete_many": return c.delete_many(*ks)
        if op == "has": return c.has(k)
        if op == "clear": return c.clear() if random.random() < 0.05 else None
    except Exception as e:
        return "%s: %s" % (type(e).__name__, e)
def space(client, c):
    return sorted((k, c.load_object(client.get(k)), client.ttl(k) > 0 or client.ttl(k)) for k in client.keys("*"))
mism = total = 0
for prefix in ["", "p_", "fc[x]?_"]:
    real.flushdb(); fake = redis_server.fake_client(time.time)
    a = RedisCache(host=real, key_prefix=prefix); b = RedisCache(host=fake, key_prefix=prefix)
    for o in ops(random.Random(hash(prefix) & 0xffff), 3000):
        random.seed(total)
        ra = call(a, *o); random.seed(total); rb = call(b, *o); total += 1
        if repr(ra) != repr(rb):
            mism += 1
            if mism < 8: print("reply", o, repr(ra)[:200], repr(rb)[:200])
    sa, sb = space(real, a), space(fake, b)
    if sa != sb:
        mism += 1; print("keyspace differs", prefix, sa[:5], sb[:5])
print("calls", total, "mismatches", mism, "redis-py", redis.__version__)
real.flushdb()
