"""Direct cache calls whose keys are not strings, on RedisCache with an empty key prefix.

cachelib's RedisCache formats every key into the Redis key name (``f"{prefix}{key}"``), so
a non-string key does not raise: ``42`` is the entry of ``"42"``, ``1.0`` is ``"1.0"`` (not
``1``), ``True`` is ``"True"``, a function is its repr, ``b"k"`` is ``"b'k'"``. Without a
prefix, though, ``get_many`` (and Flask-Caching 2.5's ``delete_many``) hand the keys to
redis-py unformatted: a bool, a function, ``None`` or a tuple raise ``DataError: Invalid
input of type: ...``, and ``b"k"`` names the key ``k``, so 2.5's ``delete_many(b"k")``
finds ``b'k'`` still there and raises ``RuntimeError: Failed to delete keys: [b'k']``.
Flask-Caching 2.4's own ``delete_many`` deletes key by key, formatted, and never raises.

Recorded on Flask-Caching 2.5 and 2.4 against fakeredis (the URL is never contacted).
Function keys show memory addresses: the trace differs from run to run.
"""

from flask import Flask
from flask_caching import Cache

app = Flask(__name__)
app.config.update(
    CACHE_TYPE="RedisCache",
    CACHE_REDIS_URL="redis://localhost:6379/15",
    CACHE_KEY_PREFIX="",
)
cache = Cache(app)

STUDENTS = ["Ann", "Bob"]


@app.route("/students")
@cache.cached(timeout=50)
def student_all():
    return ", ".join(STUDENTS)


def helper():
    return "a plain function, used as a key"


def show(label, result):
    print("%-26s -> %r" % (label, result))


def attempt(label, call, *args):
    try:
        show(label, call(*args))
    except Exception as exc:  # noqa: BLE001 - the point is to show it
        print("%-26s raises %s: %s" % (label, type(exc).__name__, exc))


client = app.test_client()
show("GET /students", client.get("/students").get_data(as_text=True))

# A key is its formatted name: 42 is "42"; 1, 1.0 and True are three names.
show("set(42, 'int')", cache.set(42, "int"))
show("get('42')", cache.get("42"))
show("set(1, 'one')", cache.set(1, "one"))
show("get(1.0)", cache.get(1.0))
show("get(True)", cache.get(True))
show("add(True, 'true')", cache.add(True, "true"))
show("get('True')", cache.get("True"))
show("has(1.5)", cache.has(1.5))
show("set((1, 'a'), 'tuple')", cache.set((1, "a"), "tuple", timeout=30))
show("get((1, 'a'))", cache.get((1, "a")))
show("set(helper, 'function')", cache.set(helper, "function"))
show("has(helper)", cache.has(helper))
show("set_many({7: .., 7.5: ..})", cache.set_many({7: "seven", 7.5: "half"}))

# Unformatted: ints and floats are fine; a bool or a function raises DataError.
show("get_many(42, 7.5, 'x')", cache.get_many(42, 7.5, "x"))
attempt("get_many(42, True)", cache.get_many, 42, True)
attempt("get_many(helper)", cache.get_many, helper)

# The view function is not the view's key: the entry stays and is served stale.
STUDENTS.append("Cy")
show("delete(student_all)", cache.delete(student_all))
show("GET /students", client.get("/students").get_data(as_text=True))

# delete_many: 2.5 sends the keys unformatted, 2.4 deletes them one by one, formatted.
attempt("delete_many(42, helper)", cache.delete_many, 42, helper)
show("get(42)", cache.get(42))
show("delete_many(7, 7.5)", cache.delete_many(7, 7.5))
show("set(b'k', 'bytes')", cache.set(b"k", "bytes"))
show("get_many(b'k')", cache.get_many(b"k"))
attempt("delete_many(b'k')", cache.delete_many, b"k")
show("get(b'k')", cache.get(b"k"))
show("delete(helper)", cache.delete(helper))
show("delete(helper)", cache.delete(helper))
