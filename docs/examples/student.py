"""The student demo of the well-known "Flask-Caching pitfall avoidance guide" blog post.

A small student API cached with Flask-Caching, and the three ways its invalidation goes
wrong:

1. a view cached with the default ``key_prefix`` ("view/%s") is deleted by its bare path:
   the key is ``view//demo/student/all``, so the delete misses and the list stays stale;
2. a view cached with ``key_prefix="res_student_all"`` is deleted by path: the literal
   prefix *is* the whole key, only ``cache.delete("res_student_all")`` removes it;
3. a memoized ``@classmethod`` is deleted with ``delete_memoized(Calc.get_number, 5)``:
   Flask-Caching >= 1.4 raises ``ValueError`` (Flask-Cache 0.13 silently deletes nothing);
   the class has to be passed as the first argument.

Runs with plain ``python student.py`` on Flask-Caching 2.5 / 2.4 and on Flask-Cache 0.13;
``python -m flaskcache_recorder -o student.2.5.trace.jsonl student.py`` records it.
"""

import json

from flask import Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13, the release the blog post describes
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    # 0.13's Jinja extension imports `flask.ext`, which Flask >= 1.0 no longer has.
    CACHE_ARGS = {"with_jinja2_ext": False}

app = Flask(__name__)
app.config.update(CACHE_DEFAULT_TIMEOUT=300, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)

# The "database".
STUDENTS = ["Ann", "Bob"]
QUERIES = {"count": 0}


def query_students():
    QUERIES["count"] += 1
    return {"students": list(STUDENTS), "query": QUERIES["count"]}


@app.route("/demo/student/all", methods=["GET"])
@cache.cached(timeout=50)
def student_all():
    return json.dumps(query_students())


@app.route("/demo/v2/student/all", methods=["GET"])
@cache.cached(timeout=600, key_prefix="res_student_all")
def student_all_v2():
    return json.dumps(query_students())


class Calc(object):
    offset = 5

    @classmethod
    @cache.memoize(timeout=600)
    def get_number(cls, x):
        return cls.offset + x


client = app.test_client()


def get(path):
    body = client.get(path).get_data(as_text=True)
    print("GET %-22s -> %s" % (path, body))
    return body


def delete(key):
    print("cache.delete(%r) -> %r" % (key, cache.delete(key)))


print("== pitfall 1: default key_prefix, deleted by the bare path")
get("/demo/student/all")
STUDENTS.append("Cy")
delete("/demo/student/all")
get("/demo/student/all")  # stale: still Ann and Bob
delete("view/demo/student/all")
get("/demo/student/all")  # still stale
delete("view//demo/student/all")
get("/demo/student/all")  # fresh: Cy is there
STUDENTS.append("Di")
if hasattr(cache, "delete_cached"):  # Flask-Caching 2.5
    print("cache.delete_cached(student_all, '/demo/student/all') -> %r"
          % cache.delete_cached(student_all, "/demo/student/all"))
else:  # no delete_cached before 2.5: spell the key out
    delete("view//demo/student/all")
get("/demo/student/all")

print("== pitfall 2: key_prefix='res_student_all', deleted by path vs by the literal")
get("/demo/v2/student/all")
STUDENTS.append("Ed")
delete("/demo/v2/student/all")
get("/demo/v2/student/all")  # stale
delete("view//demo/v2/student/all")
get("/demo/v2/student/all")  # stale
delete("res_student_all")
get("/demo/v2/student/all")  # fresh

print("== pitfall 3: a memoized classmethod")
with app.app_context():
    print("Calc.get_number(5) -> %r" % Calc.get_number(5))
    Calc.offset = 7
    try:
        cache.delete_memoized(Calc.get_number, 5)
        print("cache.delete_memoized(Calc.get_number, 5) -> no error")
    except ValueError as exc:
        print("cache.delete_memoized(Calc.get_number, 5) -> ValueError: %s" % exc)
    print("Calc.get_number(5) -> %r (stale)" % Calc.get_number(5))
    cache.delete_memoized(Calc.get_number, Calc, 5)
    print("cache.delete_memoized(Calc.get_number, Calc, 5)")
    print("Calc.get_number(5) -> %r" % Calc.get_number(5))
    Calc.offset = 9
    cache.delete_memoized(Calc.get_number)
    print("cache.delete_memoized(Calc.get_number)")
    print("Calc.get_number(5) -> %r" % Calc.get_number(5))
    print("Calc.get_number(6) -> %r" % Calc.get_number(6))
