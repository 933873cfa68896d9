"""Pitfall `memoize-arg-type`: a memoized call deleted with an argument of another type.

The route ``/student/<sid>`` uses Flask's default converter, so the view receives ``sid``
as the **str** ``'7'`` and ``get_student(sid)`` is memoized under the key of
``get_student('7')``. Elsewhere the app deletes with ``cache.delete_memoized(get_student, 7)``:
memoize keys hash the ``repr`` of each argument, and ``repr(7)`` is ``7`` while
``repr('7')`` is ``'7'``, so the delete names another key, removes nothing, and the next
request is served the stale student. (``1`` / ``1.0`` / ``True`` are three keys as well.)

Fix: delete with the value the call received, ``cache.delete_memoized(get_student, "7")``
(or declare the route as ``/student/<int:sid>`` so that every call passes an int).
"""

from flask import Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    CACHE_ARGS = {"with_jinja2_ext": False}

app = Flask(__name__)
app.config.update(**CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)

STUDENTS = {"7": "Ann"}  # the "database"


@cache.memoize(timeout=600)
def get_student(sid):
    return "student %s: %s" % (sid, STUDENTS[str(sid)])


@app.route("/student/<sid>")
def student(sid):
    return get_student(sid)


client = app.test_client()

print("GET /student/7 ->", client.get("/student/7").get_data(as_text=True))
STUDENTS["7"] = "Ann Lee"
cache.delete_memoized(get_student, 7)  # explain: memoize-arg-type
print("GET /student/7 ->", client.get("/student/7").get_data(as_text=True))  # stale: Ann
