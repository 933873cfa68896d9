"""Direct cache calls whose keys are not strings, on SimpleCache.

Flask-Caching hands ``cache.get(key)`` and friends to the backend as they are, and a
SimpleCache is a dict: any hashable value is a key, compared by Python equality. So ``1``,
``1.0`` and ``True`` are one entry (and ``"1"`` another), ``(1, "a")`` is ``(1.0, "a")``,
a function is a key of its own (``cache.delete(view_function)``, a common mistake, deletes
nothing: the view's entry is ``view//students``), and a list raises ``TypeError:
unhashable type: 'list'``, after what the call did before it.

Runs on Flask-Caching 2.5 / 2.4 and Flask-Cache 0.13 (whose proxies return ``None`` except
``get``/``get_many``, and which has no ``cache.has``).
Function keys show memory addresses: the trace differs from run to run.
"""

from flask import Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    # 0.13's Jinja extension imports `flask.ext`, which Flask >= 1.0 no longer has.
    CACHE_ARGS = {"with_jinja2_ext": False}

app = Flask(__name__)
app.config.update(CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)

STUDENTS = ["Ann", "Bob"]


@app.route("/students")
@cache.cached(timeout=50)
def student_all():
    return ", ".join(STUDENTS)


def helper():
    return "a plain function, used as a key"


def has(key):
    # Flask-Cache 0.13's Cache has no `has` (and the trace has no form for the backend's).
    return cache.has(key) if hasattr(cache, "has") else "(no cache.has)"


def show(label, result):
    print("%-28s -> %r" % (label, result))


client = app.test_client()
show("GET /students", client.get("/students").get_data(as_text=True))

# Equal numbers are one entry; the str "1" is another.
show("set(1, 'one')", cache.set(1, "one"))
show("get(1.0)", cache.get(1.0))
show("get(True)", cache.get(True))
show("get('1')", cache.get("1"))
show("add(1.0, 'uno')", cache.add(1.0, "uno"))
show("set(True, 'true')", cache.set(True, "true"))
show("get(1)", cache.get(1))
show("has(2.5)", has(2.5))
show("set(2.5, 'float')", cache.set(2.5, "float", timeout=30))
show("has(2.5)", has(2.5))

# Tuples compare item by item; a function is a key by identity.
show("set((1, 'a'), 'tuple')", cache.set((1, "a"), "tuple"))
show("get((1.0, 'a'))", cache.get((1.0, "a")))
show("set(helper, 'function')", cache.set(helper, "function"))
show("get(helper)", cache.get(helper))
show("get_many(1, '1', 2.5, helper)", cache.get_many(1, "1", 2.5, helper))
show("set_many({3: .., (4,): ..})", cache.set_many({3: "three", (4,): "four"}))

# The view function is not the view's key: the entry stays and is served stale.
STUDENTS.append("Cy")
show("delete(student_all)", cache.delete(student_all))
show("GET /students", client.get("/students").get_data(as_text=True))
show("delete('view//students')", cache.delete("view//students"))
show("GET /students", client.get("/students").get_data(as_text=True))

# 2.5 deletes every key it is given; 2.4 and 0.13 stop at the first missing one.
show("delete_many(3.0, 99, (4,))", cache.delete_many(3.0, 99, (4,)))
show("get((4,))", cache.get((4,)))
show("delete(True)", cache.delete(True))
show("delete(1)", cache.delete(1))
show("delete(helper)", cache.delete(helper))
show("get_many(1, helper)", cache.get_many(1, helper))

# A list is unhashable: the dict raises, after the keys before it were deleted.
try:
    cache.set([1], "list")
except TypeError as exc:
    show("set([1], 'list')", exc)
try:
    cache.delete_many(2.5, [2])
except TypeError as exc:
    show("delete_many(2.5, [2])", exc)
show("get(2.5)", cache.get(2.5))
