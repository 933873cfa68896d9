"""Pitfall ``view-single-slash``: a cached view deleted as ``view/`` + path without its slash.

``@cache.cached(timeout=50)`` on ``/demo/student/all`` stores the response under
``view//demo/student/all``: the default ``key_prefix`` ``"view/%s"`` is filled with
``request.path``, which starts with ``/``, so the key has two slashes. Writing the key by hand
as ``"view/demo/student/all"`` (one slash) deletes nothing, and the next request is served the
stale list.

Fix: ``cache.delete("view//demo/student/all")`` (Flask-Caching 2.5 also has
``cache.delete_cached(student_all, "/demo/student/all")``).
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


@app.route("/demo/student/all")
@cache.cached(timeout=50)
def student_all():
    return ", ".join(STUDENTS)


client = app.test_client()
print("GET /demo/student/all ->", client.get("/demo/student/all").get_data(as_text=True))
STUDENTS.append("Cy")
cache.delete("view/demo/student/all")  # explain: view-single-slash
print("after the delete       ->", client.get("/demo/student/all").get_data(as_text=True))
