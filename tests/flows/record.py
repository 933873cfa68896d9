#!/usr/bin/env python3
"""Flow traces: run scenarios through the real Flask-Caching and record the backend traffic.

Usage:

    python tests/flows/record.py [--out-dir DIR]

Runs under whichever interpreter invokes it, detects the installed library ("2.5" for
Flask-Caching 2.5.x, "2.4" for 2.4.x, "0.13" for Flask-Cache 0.13.x on Python 3.7) and
writes one file per scenario, `<scenario>.<profile>.txt`, into DIR (default: the
`recorded/` directory next to this script). It installs nothing. The same library and
Python give byte-identical files.

Setup per scenario: a fresh `Flask(__name__)` app with `debug = False` and
`Cache(app, config={"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300,
"CACHE_THRESHOLD": 500})`, entered through `app.app_context()`. For 0.13 the cache is
`Cache(app, with_jinja2_ext=False, config={"CACHE_TYPE": "simple", ...})` (same
timeout and threshold; its Jinja extension does not import on Flask >= 1.0), whose
backend is `werkzeug.contrib.cache.SimpleCache`.

- Backend: the methods get, get_many, has, set, add, set_many, delete, delete_many and
  clear of `cache.cache` are replaced on the instance by tracers. Only the outermost
  call is written (cachelib's `get_many`, `delete_many` and `add` call `get`, `delete`
  and `has` internally, Werkzeug's `get_many`, `set_many` and `delete_many` call `get`,
  `set` and `delete`; those inner calls are not backend traffic of their own).
- Clock: `cachelib.simple.time` (0.13: `werkzeug.contrib.cache.time`) returns the
  module-level float `NOW`, reset to 1000.0 at the start of every scenario; `tick N`
  adds N seconds.
- Versions: `uuid.uuid4` (reached by the library as `flask_caching.uuid.uuid4`, 0.13:
  `flask_cache.uuid.uuid4`) returns `uuid.UUID(bytes=bytes([k] * 16))` for the k-th
  draw of a scenario.
- Names: memoized functions and classes carry `__module__ == "app"` and their plain
  qualnames (`f`, `C.m`, `Calc.inst`), set before the cache decorators copy them.

Profile 0.13: the parts of a scenario that use arguments Flask-Cache 0.13 does not
have (`cache_none`, `response_filter`, `forced_update`) are left out, and a scenario
left with nothing to run (`forced_update`) writes no file. Everything else is the same
call sequence; calls of methods 0.13 lacks (`cache.has`) are made and record the
`AttributeError`.

Line format (values are Python `repr`s):

    # <the Python text of the next call, or "GET <path>" for a request>
    get('k') -> <result>
    get_many('k1', 'k2') -> [<result>, ...]
    has('k') -> True
    set('k', <value>, timeout=<timeout>) -> True
    add('k', <value>, timeout=<timeout>) -> True
    set_many({'k': <value>, ...}, timeout=<timeout>) -> ['k', ...]
    delete('k') -> True
    delete_many('k1', 'k2') -> ['k1', 'k2']
    clear() -> True
    compute                               (a decorated function body ran)
    hook <name> -> <answer>               (unless / forced_update / is_stale / response_filter)
    log <message>: <ExcType>: <str(exc)>  (logger.exception of flask_caching / flask_cache)
    tick <N>                              (virtual clock advanced by N seconds)
    = <what the call returned; for a request, the response body as text>
    ! <ExcType>: <str(exc)>               (what the call raised)

A timeout the library passes positionally or leaves out is written in the keyword
form with the value the backend received (`None` when left out). A backend method
that raises writes `<call> raises <ExcType>: <str(exc)>` and the exception propagates.
Results are what the backend returned: Werkzeug's `set_many` and `delete_many` return a
bool, and its `clear` (the instance's dict `clear`) returns `None`.
"""

import argparse
import inspect
import logging
import os
import sys
import uuid
import warnings

sys.dont_write_bytecode = True
warnings.simplefilter("ignore")

from flask import Flask  # noqa: E402

try:
    import flask_caching as extension  # noqa: E402
except ImportError:
    import flask_cache as extension  # noqa: E402

Cache = extension.Cache

APP_MODULE = "app"
START_TIME = 1000.0
TRACED_METHODS = (
    "get",
    "get_many",
    "has",
    "set",
    "add",
    "set_many",
    "delete",
    "delete_many",
    "clear",
)

NOW = START_TIME


def detect_profile():
    if extension.__name__ == "flask_cache":
        version = extension.__version__
        parts = version.split(".")
        if parts[0] == "0" and parts[1] == "13":
            return "0.13", version
        raise SystemExit("unsupported Flask-Cache version %s (need 0.13.x)" % version)
    import importlib.metadata

    version = importlib.metadata.version("flask-caching")
    parts = version.split(".")
    if parts[0] == "2" and parts[1] == "5":
        return "2.5", version
    if parts[0] == "2" and parts[1] == "4":
        return "2.4", version
    raise SystemExit("unsupported Flask-Caching version %s (need 2.4.x or 2.5.x)" % version)


PROFILE, FC_VERSION = detect_profile()
LIBRARY = "flask-cache" if PROFILE == "0.13" else "flask-caching"

# Flask-Cache 0.13 has no `cache_none`, `response_filter` or `forced_update`.
LEGACY_0_13 = PROFILE == "0.13"

if LEGACY_0_13:
    import werkzeug.contrib.cache as backend_module  # noqa: E402

    CACHE_CONFIG = {
        "CACHE_TYPE": "simple",
        "CACHE_DEFAULT_TIMEOUT": 300,
        "CACHE_THRESHOLD": 500,
    }
    CACHE_ARGS = {"with_jinja2_ext": False}
else:
    import cachelib.simple as backend_module  # noqa: E402

    CACHE_CONFIG = {
        "CACHE_TYPE": "SimpleCache",
        "CACHE_DEFAULT_TIMEOUT": 300,
        "CACHE_THRESHOLD": 500,
    }
    CACHE_ARGS = {}


def virtual_time():
    return NOW


backend_module.time = virtual_time


# --------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------


class Recorder:
    """Lines of one scenario plus the per-scenario uuid4 draw counter."""

    def __init__(self):
        self.lines = []
        self.uuid_draws = 0
        self.depth = 0
        self.fail_next = None

    def write(self, line):
        self.lines.append(line)

    def uuid4(self):
        self.uuid_draws += 1
        if self.uuid_draws > 255:
            raise RuntimeError("more than 255 uuid4 draws in one scenario")
        return uuid.UUID(bytes=bytes([self.uuid_draws] * 16))

    def text(self):
        return "".join(line + "\n" for line in self.lines)


CURRENT = None


def pinned_uuid4():
    return CURRENT.uuid4()


extension.uuid.uuid4 = pinned_uuid4


class LogCapture(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            CURRENT.write("log %s: %s: %s" % (message, type(exc).__name__, exc))
        else:
            CURRENT.write("log %s" % message)


_fc_logger = logging.getLogger(extension.__name__)
_fc_logger.addHandler(LogCapture())
_fc_logger.propagate = False


def format_backend_call(name, real, args, kwargs):
    try:
        signature = inspect.signature(real)
    except ValueError:
        # A builtin without signature data (Werkzeug's SimpleCache.clear is dict.clear).
        parts = [repr(a) for a in args] + ["%s=%r" % item for item in kwargs.items()]
        return "%s(%s)" % (name, ", ".join(parts))
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    parts = []
    for param in bound.signature.parameters.values():
        value = bound.arguments[param.name]
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            parts.extend(repr(item) for item in value)
        elif param.kind is inspect.Parameter.VAR_KEYWORD:
            parts.extend("%s=%r" % item for item in value.items())
        elif param.default is inspect.Parameter.empty:
            parts.append(repr(value))
        else:
            parts.append("%s=%r" % (param.name, value))
    return "%s(%s)" % (name, ", ".join(parts))


def trace_backend(backend, rec):
    for name in TRACED_METHODS:
        real = getattr(backend, name)

        def traced(*args, _name=name, _real=real, **kwargs):
            if rec.depth:
                return _real(*args, **kwargs)
            text = format_backend_call(_name, _real, args, kwargs)
            rec.depth += 1
            try:
                if rec.fail_next == _name:
                    rec.fail_next = None
                    raise ConnectionError("backend down")
                result = _real(*args, **kwargs)
            except Exception as exc:
                rec.write("%s raises %s: %s" % (text, type(exc).__name__, exc))
                raise
            finally:
                rec.depth -= 1
            rec.write("%s -> %r" % (text, result))
            return result

        setattr(backend, name, traced)


def in_app(qualname):
    """Give a function or class the identity it would have at the top of module `app`."""

    def mark(obj):
        obj.__module__ = APP_MODULE
        obj.__qualname__ = qualname
        return obj

    return mark


class Scenario:
    def __init__(self, name):
        global NOW, CURRENT
        NOW = START_TIME
        self.name = name
        self.rec = Recorder()
        CURRENT = self.rec
        self.computations = 0
        self.flask_app = Flask(__name__)
        self.flask_app.debug = False
        self.cache = Cache(self.flask_app, config=dict(CACHE_CONFIG), **CACHE_ARGS)
        trace_backend(self.cache.cache, self.rec)
        self.client = self.flask_app.test_client()
        self.ns = {"cache": self.cache}

    def define(self, **objects):
        self.ns.update(objects)

    def compute(self):
        """Called by a decorated body when it runs; returns the scenario's counter."""
        self.computations += 1
        self.rec.write("compute")
        return self.computations

    def fail(self, method):
        """Make the next outermost call of backend `method` raise ConnectionError."""
        self.rec.fail_next = method

    def hook(self, name, answer):
        self.rec.write("hook %s -> %r" % (name, answer))
        return answer

    def tick(self, seconds):
        global NOW
        NOW += seconds
        self.rec.write("tick %r" % (seconds,))

    def call(self, text, request_path=None):
        """Evaluate `text` (Python) in the scenario namespace, optionally in a request context."""
        self.rec.write("# " + text)
        try:
            if request_path is None:
                result = eval(text, self.ns)
            else:
                with self.flask_app.test_request_context(request_path):
                    result = eval(text, self.ns)
        except Exception as exc:
            self.rec.write("! %s: %s" % (type(exc).__name__, exc))
            return
        self.rec.write("= %r" % (result,))

    def get(self, path):
        self.rec.write("# GET " + path)
        try:
            response = self.client.get(path)
            body = response.get_data(as_text=True)
        except Exception as exc:
            self.rec.write("! %s: %s" % (type(exc).__name__, exc))
            return
        self.rec.write("= %r" % (body,))


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------


def cached_trace(s):
    cache, flask_app = s.cache, s.flask_app

    @flask_app.route("/v")
    @cache.cached(timeout=10)
    @in_app("v")
    def v():
        s.compute()
        return "v1"

    if not LEGACY_0_13:

        @cache.cached(key_prefix="noneval", cache_none=True)
        @in_app("cn")
        def cn():
            s.compute()
            return None

        s.define(cn=cn)

    @cache.cached(key_prefix="noneval2")
    @in_app("cn2")
    def cn2():
        s.compute()
        return None

    if not LEGACY_0_13:

        def response_filter_hook(rv):
            return s.hook("response_filter", False)

        @flask_app.route("/f")
        @cache.cached(response_filter=response_filter_hook)
        @in_app("fl")
        def fl():
            s.compute()
            return "nope"

        def forced_hook():
            return s.hook("forced_update", True)

        @flask_app.route("/forced")
        @cache.cached(forced_update=forced_hook)
        @in_app("forced")
        def forced():
            s.compute()
            return "forced"

    def unless_hook():
        return s.hook("unless", True)

    @flask_app.route("/u")
    @cache.cached(unless=unless_hook)
    @in_app("u")
    def u():
        s.compute()
        return "u"

    s.define(cn2=cn2)
    s.get("/v")
    s.get("/v")
    if not LEGACY_0_13:
        s.call("cn()", request_path="/x")
        s.call("cn()", request_path="/x")
    s.call("cn2()", request_path="/x")
    s.call("cn2()", request_path="/x")
    if not LEGACY_0_13:
        s.get("/f")
        s.get("/forced")
        s.get("/forced")
    s.get("/u")


def memoize_trace(s):
    cache = s.cache

    @cache.memoize(timeout=60)
    @in_app("f")
    def f(a):
        s.compute()
        return a

    @in_app("C")
    class C:
        def __repr__(self):
            return "C#1"

        @cache.memoize(timeout=30)
        @in_app("C.m")
        def m(self, a):
            s.compute()
            return a

    s.define(f=f, C=C)
    s.call("f(1)")
    s.call("f(1)")
    s.call("C().m(1)")
    s.call("C().m(1)")


def forced_update(s):
    if LEGACY_0_13:
        return
    cache = s.cache

    def forced_hook():
        return s.hook("forced_update", True)

    @cache.memoize(timeout=60, forced_update=forced_hook)
    @in_app("g")
    def g(a):
        s.compute()
        return a * 2

    s.define(g=g)
    s.call("g(2)")
    s.call("g(2)")


def decorators_simple(s):
    cache, flask_app = s.cache, s.flask_app

    @flask_app.route("/demo/student/all")
    @cache.cached(timeout=50)
    @in_app("student_all")
    def student_all():
        s.compute()
        return "students"

    @cache.memoize(timeout=20)
    @in_app("mf")
    def mf(a):
        s.compute()
        return 1

    s.define(mf=mf)
    s.get("/demo/student/all")
    s.call("mf(1)")
    s.call("cache.delete_memoized(mf)")
    s.call("mf(1)")
    s.call("cache.delete_memoized_verhash(mf)")
    s.call("mf(1)")


def memoize_expiry(s):
    cache = s.cache

    @cache.memoize(timeout=5)
    @in_app("h")
    def h(a):
        s.compute()
        return a

    s.define(h=h)
    s.call("h(1)")
    s.tick(3)
    s.call("h(1)")
    s.tick(3)
    s.call("h(1)")
    s.tick(10)
    s.call("h(1)")


def blog_default_prefix(s):
    cache, flask_app = s.cache, s.flask_app

    @flask_app.route("/demo/student/all")
    @cache.cached(timeout=50)
    @in_app("student_all")
    def student_all():
        return "gen%d" % s.compute()

    s.define(student_all=student_all)
    s.get("/demo/student/all")
    s.call("cache.delete('/demo/student/all')")
    s.get("/demo/student/all")
    s.call("cache.delete('view/demo/student/all')")
    s.get("/demo/student/all")
    s.call("cache.delete('view//demo/student/all')")
    s.get("/demo/student/all")
    if PROFILE == "2.5":
        s.call("cache.delete_cached(student_all, '/demo/student/all')")
        s.get("/demo/student/all")


def blog_literal_prefix(s):
    cache, flask_app = s.cache, s.flask_app

    @flask_app.route("/demo/student/lit")
    @cache.cached(timeout=50, key_prefix="res_student_all")
    @in_app("student_lit")
    def student_lit():
        return "lit%d" % s.compute()

    s.get("/demo/student/lit")
    s.call("cache.delete('/demo/student/lit')")
    s.get("/demo/student/lit")
    s.call("cache.delete('view//demo/student/lit')")
    s.get("/demo/student/lit")
    s.call("cache.delete('res_student_all')")
    s.get("/demo/student/lit")


def define_calc(s):
    cache = s.cache

    @in_app("Calc")
    class Calc:
        def __repr__(self):
            return "Calc()"

        @classmethod
        @cache.memoize(timeout=100)
        @in_app("Calc.get_number")
        def get_number(cls, x):
            return x + s.compute()

        @cache.memoize(timeout=100)
        @in_app("Calc.inst")
        def inst(self, x):
            return x + s.compute()

        @staticmethod
        @cache.memoize(timeout=100)
        @in_app("Calc.stat")
        def stat(x):
            return x + s.compute()

    s.define(Calc=Calc)
    return Calc


def blog_classmethod(s):
    define_calc(s)
    s.call("Calc.get_number(5)")
    s.call("cache.delete_memoized(Calc.get_number, 5)")
    s.call("Calc.get_number(5)")
    s.call("cache.delete_memoized(Calc.get_number, Calc, 5)")
    s.call("Calc.get_number(5)")
    s.call("cache.delete_memoized(Calc.get_number)")
    s.call("Calc.get_number(5)")


def blog_classmethod_class_only(s):
    """The blog post says `delete_memoize(Calc.get_number, Calc)` deletes every cached
    call; it deletes the key of `get_number(Calc, None)` only."""
    define_calc(s)
    s.call("Calc.get_number(5)")
    s.call("cache.delete_memoized(Calc.get_number, Calc)")
    s.call("Calc.get_number(5)")


def blog_instance_method(s):
    Calc = define_calc(s)
    s.define(c=Calc())
    s.call("c.inst(5)")
    s.call("cache.delete_memoized(c.inst, 5)")
    s.call("c.inst(5)")
    s.call("cache.delete_memoized(c.inst, c, 5)")
    s.call("c.inst(5)")
    s.call("cache.delete_memoized(Calc.inst, 5)")
    s.call("c.inst(5)")
    s.call("cache.delete_memoized(Calc.inst, c, 5)")
    s.call("c.inst(5)")
    s.call("cache.delete_memoized(c.inst)")
    s.call("c.inst(5)")
    s.call("cache.delete_memoized(Calc.inst)")
    s.call("c.inst(5)")


def blog_staticmethod(s):
    define_calc(s)
    s.call("Calc.stat(5)")
    s.call("cache.delete_memoized(Calc.stat, 5)")
    s.call("Calc.stat(5)")
    s.call("cache.delete_memoized(Calc.stat)")
    s.call("Calc.stat(5)")


def backend_proxies(s):
    s.call("cache.set('i', 42)")
    s.call("cache.get('i')")
    s.call("cache.add('i', 1)")
    s.call("cache.add('n', 5, timeout=7)")
    s.call("cache.has('n')")
    s.call("cache.get_many('i', 'n', 'q')")
    s.call("cache.set_many({'x': 1, 'y': 'z'}, timeout=0)")
    s.call("cache.delete('i')")
    s.call("cache.delete('i')")
    s.call("cache.delete_many('x', 'missing')")
    s.tick(8)
    s.call("cache.get('n')")
    s.call("cache.clear()")


def backend_failures(s):
    """A backend that raises: logged and served uncached inside the decorators, propagated
    by delete_memoized and the proxies (0.13: swallowed by delete_memoized)."""
    cache, flask_app = s.cache, s.flask_app

    @flask_app.route("/v")
    @cache.cached(timeout=10)
    @in_app("v")
    def v():
        s.compute()
        return "v1"

    @cache.memoize(timeout=60)
    @in_app("f")
    def f(a):
        s.compute()
        return a

    s.define(f=f)
    s.fail("get_many")
    s.call("f(1)")
    s.fail("get")
    s.call("f(1)")
    s.fail("set")
    s.call("f(1)")
    s.call("f(1)")
    s.fail("get")
    s.get("/v")
    s.fail("set")
    s.get("/v")
    s.get("/v")
    s.fail("get_many")
    s.call("cache.delete_memoized(f, 1)")
    s.fail("set_many")
    s.call("cache.delete_memoized(f)")
    s.fail("delete_many")
    s.call("cache.delete_memoized_verhash(f)")
    s.fail("delete")
    s.call("cache.delete('view//v')")
    s.fail("get")
    s.call("cache.get('view//v')")


def backend_failures_debug(s):
    """With app.debug the decorators re-raise backend errors instead of logging them."""
    cache = s.cache
    s.flask_app.debug = True

    @cache.memoize(timeout=60)
    @in_app("f")
    def f(a):
        s.compute()
        return a

    s.define(f=f)
    s.fail("get")
    s.call("f(1)")
    s.fail("set")
    s.call("f(1)")
    s.call("f(1)")
    s.fail("get_many")
    s.call("cache.delete_memoized(f, 1)")


def cached_http_errors(s):
    """`@cached` views that abort (FC-0.8, FC-1.1.7, FC-1.1.8): 2.5 stores the
    HTTPException, raises it, and raises the stored one on a hit; 2.4.1 and 0.13 let it
    propagate and store nothing. `memoize` never captures it (FC-2.6.2)."""
    from flask import abort

    cache = s.cache

    @cache.cached(timeout=60)
    @in_app("item")
    def item(i):
        s.compute()
        if i == 3:
            abort(403, "item %d is hidden" % i)
        if i == 7:
            abort(404, "no item %d" % i)
        return "item %d" % i

    @cache.memoize(timeout=60)
    @in_app("lookup")
    def lookup(i):
        s.compute()
        abort(404, "no item %d" % i)

    s.define(item=item, lookup=lookup)
    s.call("item(7)", request_path="/items/7")
    s.call("item(7)", request_path="/items/7")
    s.call("item(3)", request_path="/items/3")
    s.call("item(3)", request_path="/items/3")
    s.call("item(1)", request_path="/items/1")
    s.call("cache.get('view//items/7')")
    s.call("cache.delete('view//items/7')")
    s.call("item(7)", request_path="/items/7")
    if not LEGACY_0_13:
        # The filter is given the exception's response (2.5) and keeps it out.
        def response_filter_hook(rv):
            return s.hook("response_filter", getattr(rv, "status_code", 200) == 200)

        @cache.cached(response_filter=response_filter_hook)
        @in_app("filtered")
        def filtered():
            s.compute()
            abort(404, "filtered out")

        s.define(filtered=filtered)
        s.call("filtered()", request_path="/filtered")
        s.call("filtered()", request_path="/filtered")
    s.call("lookup(9)")
    s.call("lookup(9)")


SCENARIOS = (
    cached_trace,
    cached_http_errors,
    memoize_trace,
    forced_update,
    decorators_simple,
    memoize_expiry,
    blog_default_prefix,
    blog_literal_prefix,
    blog_classmethod,
    blog_classmethod_class_only,
    blog_instance_method,
    blog_staticmethod,
    backend_proxies,
    backend_failures,
    backend_failures_debug,
)


def record(scenario):
    s = Scenario(scenario.__name__)
    with s.flask_app.app_context():
        scenario(s)
    return s.rec.text()


def main(argv=None):
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recorded")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=default_out, help="default: %(default)s")
    options = parser.parse_args(argv)
    os.makedirs(options.out_dir, exist_ok=True)
    for scenario in SCENARIOS:
        text = record(scenario)
        if not text:
            continue
        path = os.path.join(options.out_dir, "%s.%s.txt" % (scenario.__name__, PROFILE))
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        print(path)
    print("%s %s (profile %s), Python %d.%d" % ((LIBRARY, FC_VERSION, PROFILE) + sys.version_info[:2]))


if __name__ == "__main__":
    main()
