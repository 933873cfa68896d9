"""Unusual but legal decorator combinations.

- ``@classmethod`` / ``@staticmethod`` stacked over ``@cache.cached``: the cached function
  is an ordinary function to Flask-Caching; the class (for the classmethod) is just its
  first argument, which a ``@cached`` key never looks at. A literal ``key_prefix`` is the
  whole key; the default ``view/%s`` needs a request (outside one, building the key raises
  ``RuntimeError``, which is logged, and the call runs uncached).
- ``@classmethod`` / ``@staticmethod`` over ``@cache.memoize``, called through the class
  and through an instance.
- A memoized method of a class whose ``__repr__`` is inherited from its base. (Methods of
  classes without any ``__repr__`` are in default_repr.py: their traces show addresses.)

(``cache.delete_memoized`` of a ``@cached`` function is refused by the recorder: see
docs/recorder.md.)
"""

import logging

from flask import Flask

try:
    from flask_caching import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache"}
    CACHE_ARGS = {}
except ImportError:  # Flask-Cache 0.13
    from flask_cache import Cache

    CACHE_CONFIG = {"CACHE_TYPE": "simple"}
    CACHE_ARGS = {"with_jinja2_ext": False}

logging.getLogger("flask_caching").addHandler(logging.NullHandler())
logging.getLogger("flask_cache").addHandler(logging.NullHandler())

app = Flask(__name__)
app.config.update(CACHE_DEFAULT_TIMEOUT=300, **CACHE_CONFIG)
cache = Cache(app, **CACHE_ARGS)
RUNS = {"n": 0}


def run():
    RUNS["n"] += 1
    return RUNS["n"]


class Catalog(object):
    @classmethod
    @cache.cached(timeout=60, key_prefix="catalog_all")
    def all(cls):
        return "all %s %d" % (cls.__name__, run())

    @staticmethod
    @cache.cached(timeout=60, key_prefix="catalog_count")
    def count():
        return run()

    @classmethod
    @cache.cached(timeout=60)
    def page(cls):
        return "page %d" % run()

    @classmethod
    @cache.memoize(timeout=60)
    def find(cls, name):
        return "%s/%s %d" % (cls.__name__, name, run())

    @staticmethod
    @cache.memoize(timeout=60)
    def total(a, b=1):
        return a + b + run()


class Named(object):
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Named(%r)" % self.name


class Child(Named):
    @cache.memoize(timeout=60)
    def greet(self, who):
        return "%s greets %s %d" % (self.name, who, run())


def main():
    print("classmethod cached", Catalog.all(), Catalog.all(), Catalog().all())
    print("staticmethod cached", Catalog.count(), Catalog().count())
    # Outside a request the default key prefix raises RuntimeError, logged (Flask 1.0,
    # under Flask-Cache 0.13, words it with two blanks after "request.").
    with app.app_context():
        print("default prefix, no request", Catalog.page(), Catalog.page())
    with app.test_request_context("/catalog/page"):
        print("default prefix, in a request", Catalog.page(), Catalog.page())
    with app.app_context():
        print("find", Catalog.find("x"), Catalog().find("x"), Catalog.find("y"))
        cache.delete_memoized(Catalog.find, Catalog, "x")
        print("after delete x", Catalog.find("x"), Catalog.find("y"))
        print("total", Catalog.total(1), Catalog().total(1), Catalog.total(1, b=2))
        cache.delete_memoized(Catalog.total)
        print("after delete_memoized(total)", Catalog.total(1))
        kid = Child("kim")
        print("greet", kid.greet("lou"), Child("kim").greet("lou"), kid.greet("max"))
        cache.delete_memoized(kid.greet)
        print("after delete_memoized(kid.greet)", kid.greet("lou"))
        cache.delete("catalog_all")
        print("after delete(catalog_all)", Catalog.all())


if __name__ == "__main__":
    main()
