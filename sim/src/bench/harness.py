"""The Flask-Caching side of `flaskcache bench TRACE`.

Rebuilds the recorded app in this process from the trace's declarations and replays its
events in the real Flask-Caching, timing each top-level event with time.perf_counter_ns():

- a Flask app with CACHE_TYPE="SimpleCache" and the recorded timeout, threshold,
  CACHE_IGNORE_ERRORS and app.debug, and one Cache bound to it;
- each memoized function generated with the declared module, qualname and parameters
  (kinds and defaults), decorated with the declared @cache.memoize options;
- each cached view decorated with the declared @cache.cached options and registered at
  the paths it was requested at; a request is replayed under app.test_request_context()
  for its recorded path and query, pushed before the timer starts;
- function bodies return (or raise) what the recording says that run returned, after
  replaying the cached calls the body made itself; hooks, a callable key_prefix and a
  custom make_cache_key answer what was recorded; version strings are the recorded ones;
- the backend's clock is the trace's virtual clock (cachelib.simple.time, as the recorder
  patches it), set to each event's recorded time.

Every event is checked after its timer stops (a nested event's check waits for its
top-level event's timer): its result, the function runs, hook questions, minted versions and
logged exceptions must be the recorded ones, or the harness stops with a message naming
the event (exit status 1). Input it cannot replay: exit status 2.

Protocol, one line each way:  -> "ready N" (N timed events per replay);  <- "round K";
-> K lines "ok NS NS ...", one per replay, each on a fresh app and cache (nanoseconds of
each timed event, file order);  <- "quit".
"""

import builtins
import inspect
import json
import logging
import sys
import time
import types
import urllib.parse
from collections import OrderedDict


class Mismatch(BaseException):
    """Flask-Caching did not do what the recording says (a BaseException, so that no
    `except Exception` of the library swallows it)."""


class Unusable(Exception):
    """The trace asks for something this harness cannot replay."""


# ------------------------------------------------------------------------------------------
# Values in the tagged JSON form of docs/vectors.md.
# ------------------------------------------------------------------------------------------


def _unlimited_int_text():
    """Lifts the int/str conversion limit for one conversion (the trace holds any int)."""
    limit = getattr(sys, "get_int_max_str_digits", None)
    return limit() if limit is not None else None


def _with_unlimited(fn, arg):
    old = _unlimited_int_text()
    if old:
        sys.set_int_max_str_digits(0)
    try:
        return fn(arg)
    finally:
        if old:
            sys.set_int_max_str_digits(old)


class World(object):
    """The app's classes and objects, made from their recorded module, qualname, repr and
    __caching_id__, installed where pickle looks for them."""

    def __init__(self):
        self.classes = {}
        self.modules = {}

    def module(self, name):
        if name == "__main__":
            # The app's __main__, not this script's globals.
            if name not in self.modules:
                self.modules[name] = types.ModuleType("__main__")
                sys.modules["__main__"] = self.modules[name]
            return self.modules[name]
        if name in self.modules:
            return self.modules[name]
        if name in sys.modules:
            return None  # a real module: leave it alone
        mod = types.ModuleType(name)
        sys.modules[name] = mod
        self.modules[name] = mod
        return mod

    def cls(self, module, qualname):
        key = (module, qualname)
        found = self.classes.get(key)
        if found is not None:
            return found
        name = qualname.rsplit(".", 1)[-1]
        made = type(name, (object,), {"__repr__": _object_repr, "__module__": module})
        made.__qualname__ = qualname
        self.classes[key] = made
        parts = qualname.split(".")
        if "<locals>" not in parts:
            owner = self.module(module) if len(parts) == 1 else self.cls(module, ".".join(parts[:-1]))
            if owner is not None and getattr(owner, name, None) is None:
                setattr(owner, name, made)
        return made

    def obj(self, tagged):
        cls = self.cls(tagged["module"], tagged["qualname"])
        instance = object.__new__(cls)
        instance.__dict__["_fc_repr"] = tagged["repr"]
        caching_id = tagged.get("caching_id")
        if caching_id is not None:
            instance.__dict__["_fc_cid"] = caching_id
            if "__caching_id__" not in vars(cls):
                def __caching_id__(self):
                    return self.__dict__.get("_fc_cid")

                __caching_id__.__qualname__ = cls.__qualname__ + ".__caching_id__"
                cls.__caching_id__ = __caching_id__
        return instance

    def decode(self, v):
        t = v["t"]
        if t == "none":
            return None
        if t == "bool":
            return bool(v["v"])
        if t == "int":
            return _with_unlimited(int, v["v"])
        if t == "float":
            return float(v["v"])
        if t == "str":
            return v["v"]
        if t == "bytes":
            return bytes.fromhex(v["v"])
        if t == "tuple":
            return tuple(self.decode(x) for x in v["v"])
        if t == "list":
            return [self.decode(x) for x in v["v"]]
        if t == "dict":
            return dict((self.decode(k), self.decode(x)) for k, x in v["v"])
        if t == "odict":
            return OrderedDict((self.decode(k), self.decode(x)) for k, x in v["v"])
        if t == "class":
            return self.cls(v["module"], v["qualname"])
        if t == "object":
            return self.obj(v)
        raise Unusable("unknown value tag %r" % (t,))


def _object_repr(self):
    return self.__dict__.get("_fc_repr", "?")


def encode(v):
    """The tagged form of `v`, as the recorder writes it."""
    t = type(v)
    if v is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": v}
    if t is int:
        return {"t": "int", "v": _with_unlimited(str, v)}
    if t is float:
        return {"t": "float", "v": repr(v)}
    if t is str:
        return {"t": "str", "v": v}
    if t is bytes:
        return {"t": "bytes", "v": v.hex()}
    if t is tuple:
        return {"t": "tuple", "v": [encode(x) for x in v]}
    if t is list:
        return {"t": "list", "v": [encode(x) for x in v]}
    if t in (dict, OrderedDict):
        return {"t": "odict" if t is OrderedDict else "dict",
                "v": [[encode(k), encode(x)] for k, x in v.items()]}
    if isinstance(v, type):
        return {"t": "class", "module": v.__module__, "qualname": v.__qualname__}
    return {"t": "object", "module": t.__module__, "qualname": t.__qualname__,
            "repr": repr(v), "caching_id": v.__dict__.get("_fc_cid") if hasattr(v, "__dict__") else None}


def show(tagged):
    return json.dumps(tagged, ensure_ascii=False)


def exception(error):
    """An exception of the recorded type name with the recorded message."""
    kind = getattr(builtins, error["type"], None)
    if not (isinstance(kind, type) and issubclass(kind, Exception)):
        kind = type(str(error["type"]), (Exception,), {})
    return kind(error["message"])


def outcome_json(raised, rv):
    if raised is not None:
        return {"raises": {"type": type(raised).__name__, "message": str(raised)}}
    return {"value": encode(rv)}


# ------------------------------------------------------------------------------------------
# The trace.
# ------------------------------------------------------------------------------------------


class Trace(object):
    def __init__(self, path):
        self.path = path
        self.config = None
        self.declarations = []  # (kind, body) in file order
        self.events = []  # (line, event json) of top-level events, ticks included
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                record = json.loads(line)
                if number == 1:
                    continue
                if "config" in record:
                    self.config = record["config"]
                elif "memoize" in record or "cached" in record:
                    self.declarations.append(record)
                elif "event" in record:
                    self.events.append((number, record))
        if self.config is None:
            raise Unusable("%s: no configuration line" % path)
        if self.config["backend"] != "SimpleCache":
            raise Unusable("%s: backend %s: the harness replays SimpleCache traces only"
                           % (path, self.config["backend"]))

    def timed(self):
        return [(line, e) for line, e in self.events if "tick" not in e["command"]]


def check_library(config):
    import flask_caching

    try:
        import importlib.metadata as metadata

        version = metadata.version("flask-caching")
    except Exception:  # noqa: BLE001 - fall back on the module's own attribute
        version = getattr(flask_caching, "__version__", "?")
    profile = config["profile"]
    if not version.startswith(profile + "."):
        raise Unusable("this Python has Flask-Caching %s, but the trace was recorded with %s %s "
                       "(profile %s)" % (version, config["library"], config["library_version"], profile))


# ------------------------------------------------------------------------------------------
# One replay: the app, its functions and views, and the events.
# ------------------------------------------------------------------------------------------


class EventCtx(object):
    """An event in progress: what the recording says it does, consumed as it happens."""

    def __init__(self, replay, number, line, event):
        self.number = number
        self.line = line
        steps = event["steps"]
        self.computes = [s for s in steps if "compute" in s]
        self.hooks = [s for s in steps if "hook" in s]
        self.logs = [s["log"] for s in steps if "log" in s]
        self.versions = list(event["versions"])
        self.logged = []
        self.problem = None
        command = event["command"]
        self.prefix_result = command.get("prefix_result")
        self.custom_key = command.get("custom_key")
        self.url_for = command.get("url_for")
        # Decoded before the timer starts: a real body would have its value at hand.
        self.compute_results = [replay.result(s["compute"]) for s in self.computes]
        self.nested = [[replay.prepare(line, e) for e in s.get("events", ())] for s in self.computes]

    def where(self):
        return "%s:%d: event %d" % (REPLAY.trace.path, self.line, self.number)


class Prepared(object):
    def __init__(self, number, line, event, call, request, ctx):
        self.number = number
        self.line = line
        self.event = event
        self.call = call
        self.request = request
        self.ctx = ctx


REPLAY = None


class Replay(object):
    def __init__(self, trace, world):
        from flask import Flask
        from flask_caching import Cache

        self.trace = trace
        self.world = world
        self.stack = []
        self.pending = []  # nested events run, checked when the top-level timer stops
        self.clock_us = 0
        c = trace.config
        self.app = Flask("flaskcache_bench")
        self.app.config.update(CACHE_TYPE="SimpleCache", CACHE_DEFAULT_TIMEOUT=c["default_timeout"],
                               CACHE_THRESHOLD=c["threshold"],
                               CACHE_IGNORE_ERRORS=c["ignore_errors"])
        self.app.debug = c["debug"]
        self.cache = Cache(self.app)
        self.functions = {}
        self.views = {}
        self.sources = {}
        paths = {}
        for _, e in trace.events:
            _collect_paths(e, paths)
        for record in trace.declarations:
            if "memoize" in record:
                self.declare_memoize(record["memoize"])
            else:
                self.declare_cached(record["cached"], paths)

    # -- declarations -------------------------------------------------------------------

    def body(self):
        replay = self

        def run_body(*args, **kwargs):
            ctx = replay.stack[-1]
            i = len(ctx.computes) - len(ctx.compute_results_left)
            if not ctx.compute_results_left:
                raise Mismatch("%s: Flask-Caching ran the function body, but the recording "
                               "has no (more) runs of it there" % ctx.where())
            raised, value = ctx.compute_results_left.pop(0)
            for nested in ctx.nested[i]:
                replay.run(nested)
            if raised is not None:
                raise raised
            return value

        return run_body

    def hook(self, name):
        replay = self

        def recorded_hook(*args, **kwargs):
            ctx = replay.stack[-1]
            if not ctx.hooks or ctx.hooks[0]["hook"] != name:
                raise Mismatch("%s: Flask-Caching asked the %s hook, which the recording does "
                               "not ask there" % (ctx.where(), name))
            answer = ctx.hooks.pop(0)["answer"]
            if isinstance(answer, dict):
                raise exception(answer["raises"])
            return answer

        return recorded_hook

    def options(self, options, kind):
        kwargs = {}
        if options.get("timeout") is not None:
            kwargs["timeout"] = options["timeout"]
        if options.get("hash_method"):
            import hashlib

            kwargs["hash_method"] = getattr(hashlib, options["hash_method"])
        if options.get("cache_none"):
            kwargs["cache_none"] = True
        if options.get("source") is not None:
            kwargs["source_check"] = True
        for name in options.get("hooks", ()):
            kwargs[name] = self.hook(name)
        if kind == "memoize":
            template = options.get("make_name")
            if template is not None:
                head, _, tail = template.partition("{}")
                kwargs["make_name"] = lambda fname: head + fname + tail
            if options.get("args_to_ignore"):
                kwargs["args_to_ignore"] = list(options["args_to_ignore"])
        return kwargs

    def declare_memoize(self, decl):
        function = decl["function"]
        f = make_function(self.world, function, self.body())
        if decl["options"].get("source") is not None:
            self.sources[f] = decl["options"]["source"]
        decorated = self.cache.memoize(**self.options(decl["options"], "memoize"))(f)
        self.functions[decl["id"]] = decorated

    def declare_cached(self, decl, paths):
        options = decl["options"]
        f = make_function(self.world, {"module": "__main__", "qualname": decl["name"],
                                       "params": [{"name": "args", "kind": "var_positional", "default": None},
                                                  {"name": "kwargs", "kind": "var_keyword", "default": None}]},
                          self.body())
        if options.get("source") is not None:
            self.sources[f] = options["source"]
        kwargs = self.options(options, "cached")
        prefix = options["key_prefix"]
        if "template" in prefix:
            kwargs["key_prefix"] = prefix["template"]
        else:
            kwargs["key_prefix"] = lambda: self.stack[-1].prefix_result
        if options.get("query_string"):
            kwargs["query_string"] = True
        if options.get("make_cache_key"):
            kwargs["make_cache_key"] = lambda *a, **k: self.stack[-1].custom_key
        decorated = self.cache.cached(**kwargs)(f)
        self.views[decl["id"]] = decorated
        for path in paths.get(decl["id"], ()):
            if "<" in path:
                continue
            try:
                self.app.add_url_rule(path, endpoint=decl["name"], view_func=decorated)
            except AssertionError:
                pass  # another view of the same name: the route is not needed to replay

    # -- events -------------------------------------------------------------------------

    def result(self, recorded):
        if "raises" in recorded:
            return exception(recorded["raises"]), None
        return None, self.world.decode(recorded["value"])

    def receiver(self, bound_to):
        if bound_to is None:
            return None
        value = bound_to.get("instance") or bound_to.get("class")
        return self.world.decode(value)

    def function(self, ident, number):
        f = self.functions.get(ident)
        if f is None:
            raise Unusable("event %d: undeclared function %r" % (number, ident))
        return f

    def prepare(self, line, event):
        """The event's call with its arguments decoded, ready to run."""
        number = event["event"]
        command = event["command"]
        ctx = EventCtx(self, number, line, event)
        ctx.compute_results_left = list(ctx.compute_results)
        decode = self.world.decode
        cache = self.cache
        request = None
        if "call" in command:
            f = self.function(command["call"], number)
            receiver = self.receiver(command["bound_to"])
            args = ([receiver] if command["bound_to"] is not None else []) + [decode(a) for a in command["args"]]
            kwargs = dict((k, decode(v)) for k, v in command["kwargs"])

            def call():
                return f(*args, **kwargs)
        elif "request" in command:
            view = self.views.get(command["request"])
            if view is None:
                raise Unusable("event %d: undeclared view %r" % (number, command["request"]))
            if command["path"] is not None:
                request = (command["path"], command["args"])

            def call():
                return view()
        elif "delete_memoized" in command:
            f = self.bound(self.function(command["delete_memoized"], number), command["bound_to"])
            args = [decode(a) for a in command["args"]]
            kwargs = dict((k, decode(v)) for k, v in command["kwargs"])

            def call():
                return cache.delete_memoized(f, *args, **kwargs)
        elif "delete_memoized_verhash" in command:
            f = self.bound(self.function(command["delete_memoized_verhash"], number), command["bound_to"])

            def call():
                return cache.delete_memoized_verhash(f)
        elif "delete_cached" in command:
            view = self.views.get(command["delete_cached"])
            if view is None:
                raise Unusable("event %d: undeclared view %r" % (number, command["delete_cached"]))
            path = command["path"]
            query_args = self.query_args(command.get("query_args"))
            current = command.get("current_request")
            if current is not None:
                request = (current["path"], current["args"])

            def call():
                return cache.delete_cached(view, path=path, query_args=query_args)
        elif "backend" in command:
            call = self.backend(command["backend"])
        elif "tick" in command:
            call = None
        else:
            raise Unusable("event %d: unknown command %r" % (number, sorted(command)))
        return Prepared(number, line, event, call, request, ctx)

    def bound(self, f, bound_to):
        if bound_to is None:
            return f
        return types.MethodType(f, self.receiver(bound_to))

    def query_args(self, q):
        if q is None:
            return None
        if "string" in q:
            return q["string"]
        pairs = [(k, self.world.decode(v)) for k, v in next(iter(q.values()))]
        if "mapping" in q:
            return dict(pairs)
        return pairs

    def backend(self, op):
        cache = self.cache
        name = op["op"]
        decode = self.world.decode
        if name in ("get", "has", "delete"):
            method, key = getattr(cache, name), op["key"]
            return lambda: method(key)
        if name in ("get_many", "delete_many"):
            method, keys = getattr(cache, name), list(op["keys"])
            return lambda: method(*keys)
        if name in ("set", "add"):
            method, key, value, timeout = getattr(cache, name), op["key"], decode(op["value"]), op.get("timeout")
            return lambda: method(key, value, timeout=timeout)
        if name == "set_many":
            mapping = dict((k, decode(v)) for k, v in op["items"])
            timeout = op.get("timeout")
            return lambda: cache.set_many(mapping, timeout=timeout)
        if name == "clear":
            return cache.clear
        raise Unusable("unknown backend operation %r" % (name,))

    def run(self, prepared):
        """Runs one prepared event; returns the nanoseconds its call took."""
        ctx = prepared.ctx
        self.clock_us = parse_time(prepared.event["at"])
        if prepared.call is None:
            return 0
        request_ctx = None
        if prepared.request is not None:
            request_ctx = self.request_context(ctx, *prepared.request)
            request_ctx.push()
        nested = bool(self.stack)
        self.stack.append(ctx)
        raised, rv = None, None
        try:
            start = time.perf_counter_ns()
            try:
                rv = prepared.call()
            except Exception as exc:  # noqa: BLE001 - compared with the recording below
                raised = exc
            elapsed = time.perf_counter_ns() - start
        finally:
            self.stack.pop()
            if request_ctx is not None:
                request_ctx.pop()
        if nested:
            self.pending.append((ctx, prepared.event, raised, rv))
            return elapsed
        pending, self.pending = self.pending, []
        for args in pending:
            self.check(*args)
        self.check(ctx, prepared.event, raised, rv)
        return elapsed

    def request_context(self, ctx, path, args):
        from flask import request

        query = urllib.parse.urlencode([(k, v) for k, v in args])
        rc = self.app.test_request_context(urllib.parse.quote(path), query_string=query)
        rc.push()
        try:
            seen = (request.path, [[k, v] for k, v in request.args.items(multi=True)])
        finally:
            rc.pop()
        if seen != (path, [list(a) for a in args]):
            raise Unusable("%s: cannot reproduce the recorded request %r %r (got %r %r)"
                           % ((ctx.where(), path, args) + seen))
        return self.app.test_request_context(urllib.parse.quote(path), query_string=query)

    def check(self, ctx, event, raised, rv):
        got = outcome_json(raised, rv)
        if got != event["result"]:
            raise Mismatch("%s: Flask-Caching returned %s, the recording says %s"
                           % (ctx.where(), show(got), show(event["result"])))
        if ctx.compute_results_left:
            raise Mismatch("%s: the recording runs the function body %d more time(s) (a miss), "
                           "Flask-Caching did not (a hit)" % (ctx.where(), len(ctx.compute_results_left)))
        if ctx.hooks:
            raise Mismatch("%s: the recording asks the %s hook, Flask-Caching did not"
                           % (ctx.where(), ctx.hooks[0]["hook"]))
        if ctx.versions:
            raise Mismatch("%s: the recording mints version %s, Flask-Caching did not"
                           % (ctx.where(), ctx.versions[0]))
        if ctx.logged != ctx.logs:
            raise Mismatch("%s: Flask-Caching logged %s, the recording says %s"
                           % (ctx.where(), show(ctx.logged), show(ctx.logs)))

    def mint(self):
        ctx = self.stack[-1] if self.stack else None
        if ctx is None or not ctx.versions:
            where = ctx.where() if ctx is not None else REPLAY.trace.path
            raise Mismatch("%s: Flask-Caching minted a version the recording does not mint" % where)
        return ctx.versions.pop(0)


def parse_time(text):
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return int(whole) * 1000000 + sign * int((frac + "000000")[:6])


def _collect_paths(event, paths):
    command = event["command"]
    if "request" in command and command.get("path") is not None:
        paths.setdefault(command["request"], []).append(command["path"])
    for step in event["steps"]:
        for inner in step.get("events", ()):
            _collect_paths(inner, paths)


KIND_SOURCE = {
    "positional_only": "P", "positional_or_keyword": "PK", "var_positional": "*",
    "keyword_only": "K", "var_keyword": "**",
}


def make_function(world, descriptor, body):
    """A function with the declared module, qualname and signature whose body is `body`."""
    params = descriptor["params"]
    namespace = {"_fc_body": body}
    parts = []
    last_positional_only = max([i for i, p in enumerate(params) if p["kind"] == "positional_only"] or [-1])
    star_seen = any(p["kind"] == "var_positional" for p in params)
    keyword_marker = False
    for i, p in enumerate(params):
        kind = p["kind"]
        if kind not in KIND_SOURCE:
            raise Unusable("parameter kind %r" % (kind,))
        text = p["name"]
        if p["default"] is not None:
            namespace["_fc_default_%d" % i] = world.decode(p["default"])
            text += "=_fc_default_%d" % i
        if kind == "var_positional":
            text = "*" + p["name"]
        elif kind == "var_keyword":
            text = "**" + p["name"]
        elif kind == "keyword_only" and not star_seen and not keyword_marker:
            parts.append("*")
            keyword_marker = True
        parts.append(text)
        if i == last_positional_only:
            parts.append("/")
    source = "def _fc_function(%s):\n    return _fc_body()\n" % ", ".join(parts)
    exec(compile(source, "<flaskcache bench: %s>" % descriptor["qualname"], "exec"), namespace)
    f = namespace["_fc_function"]
    f.__module__ = descriptor["module"]
    f.__qualname__ = descriptor["qualname"]
    f.__name__ = descriptor["qualname"].rsplit(".", 1)[-1]
    return f


class LogCheck(logging.Handler):
    """Collects what Flask-Caching logs with an exception, for the event in progress."""

    def emit(self, record):
        if record.exc_info and REPLAY is not None and REPLAY.stack:
            exc = record.exc_info[1]
            REPLAY.stack[-1].logged.append({"type": type(exc).__name__, "message": str(exc)})


def install(trace):
    """Process-wide patches, as the recorder makes them: the backend's clock, version
    strings, the logger, inspect.getsource for source_check."""
    import cachelib.simple
    import flask_caching

    cachelib.simple.time = lambda: REPLAY.clock_us / 1e6
    flask_caching.Cache._memoize_make_version_hash = lambda self: REPLAY.mint()
    real_url_for = flask_caching.url_for

    def url_for(*args, **kwargs):
        ctx = REPLAY.stack[-1] if REPLAY.stack else None
        if ctx is not None and ctx.url_for is not None:
            return ctx.url_for
        return real_url_for(*args, **kwargs)

    flask_caching.url_for = url_for
    real_getsource = inspect.getsource

    def getsource(obj):
        source = REPLAY.sources.get(obj) if REPLAY is not None else None
        return source if source is not None else real_getsource(obj)

    inspect.getsource = getsource
    logger = logging.getLogger("flask_caching")
    logger.addHandler(LogCheck())
    logger.propagate = False


def main(argv):
    global REPLAY
    if len(argv) != 2:
        sys.stderr.write("usage: harness.py TRACE\n")
        return 2
    try:
        trace = Trace(argv[1])
        check_library(trace.config)
    except (Unusable, OSError, ValueError, KeyError) as exc:
        sys.stderr.write("%s\n" % (exc,))
        return 2
    install(trace)
    world = World()
    timed = trace.timed()
    sys.stdout.write("ready %d\n" % len(timed))
    sys.stdout.flush()
    for line in sys.stdin:
        words = line.split()
        if len(words) != 2 or words[0] != "round" or not words[1].isdigit():
            break
        lines = []
        for _ in range(int(words[1])):
            try:
                # A fresh app, cache, functions and views for every replay, built before
                # the first timer starts.
                REPLAY = Replay(trace, world)
                prepared = [REPLAY.prepare(n, e) for n, e in trace.events]
                times = [REPLAY.run(p) for p in prepared]
            except Mismatch as exc:
                sys.stderr.write("%s\n" % (exc,))
                return 1
            except (Unusable, KeyError, TypeError, ValueError) as exc:
                sys.stderr.write("%s: cannot replay: %s: %s\n" % (trace.path, type(exc).__name__, exc))
                return 2
            out = [str(ns) for p, ns in zip(prepared, times) if p.call is not None]
            lines.append("ok %s\n" % " ".join(out))
        # Written after the round, so that no pipe write falls between two replays.
        sys.stdout.write("".join(lines))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
