"""Pitfall ``non-str-key``: a cached view deleted by passing the view function itself.

``@cache.cached(timeout=50)`` on ``/students`` stores the response under ``view//students``
(the default ``key_prefix`` ``"view/%s"`` with ``request.path``). ``cache.delete(student_all)``
hands the function object to the backend as the key: SimpleCache (a dict) looks up an entry
keyed by that function, finds none and returns ``False`` (Flask-Cache 0.13: ``None``); the
view's entry stays and the next request is served the stale list. (On RedisCache the key
would be the function's repr, ``flask_cache_<function student_all at 0x...>``: a miss too.)

Fix: ``cache.delete("view//students")`` (Flask-Caching 2.5 also has
``cache.delete_cached(student_all, "/students")``). The function's repr shows its address,
so this script's trace differs from run to run: compare recordings by replaying them.
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


client = app.test_client()
print("GET /students    ->", client.get("/students").get_data(as_text=True))
STUDENTS.append("Cy")
cache.delete(student_all)  # explain: non-str-key
print("after the delete ->", client.get("/students").get_data(as_text=True))
