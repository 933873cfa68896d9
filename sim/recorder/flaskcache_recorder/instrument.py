"""Instrumentation of Flask-Caching (or Flask-Cache), its backend, the clock and uuid4.

Everything is patched at class or module level before the script runs, so that any
`Cache` the script creates is traced. Decorated functions get two thin wrappers:

- the *body* wrapper is what Flask-Caching decorates (it keeps the undecorated function's
  name, qualname, module and signature, so keys are unchanged); when the library calls it,
  the body runs as a `compute` step;
- the *outer* wrapper is what the script gets back: it shares its attribute dict with the
  function Flask-Caching returned (so `uncached`, `cache_timeout`, `make_cache_key`,
  `delete_memoized` and `__wrapped__` read and write the same values) and turns a call made
  by the script into an event.
"""

import functools
import inspect
import logging
import time
import uuid
import warnings

from . import encode, redis_server
from .core import Compute, Event, Hook
from .errors import RecorderError

BACKEND_METHODS = ("get", "get_many", "has", "set", "add", "set_many", "delete",
                   "delete_many", "clear")
# RedisCache methods that write with other Redis commands (INCRBY, UNLINK).
REDIS_UNRECORDED = ("inc", "dec", "unlink")
HOOK_NAMES = ("unless", "forced_update", "is_stale", "response_filter")


class Library(object):
    """The installed Flask-Caching (or Flask-Cache) and what the recorder needs of it."""

    def __init__(self, name, version, profile, module, backend_classes, time_module,
                 redis_classes=()):
        self.name = name
        self.version = version
        self.profile = profile
        self.module = module
        self.cache_class = module.Cache
        self.backend_classes = backend_classes
        self.redis_classes = redis_classes
        self.time_module = time_module
        self.logger_name = module.__name__

    def normalize_timeout(self, rec, timeout, what):
        if timeout is None or type(timeout) is int:
            return timeout
        if self.profile == "2.5":
            from flask_caching.utils import normalize_timeout

            try:
                normalized = normalize_timeout(timeout)
            except Exception as exc:  # noqa: BLE001 - reported with its cause
                rec.fail("%s: timeout=%r: %s" % (what, timeout, exc))
            if normalized is None or type(normalized) is int:
                return normalized
        rec.fail("%s: timeout=%r: the trace records integer timeouts only" % (what, timeout))


def _dist_version(dist, module):
    try:
        import importlib.metadata as metadata

        return metadata.version(dist)
    except Exception:  # noqa: BLE001 - fall back to the next source
        pass
    try:
        import pkg_resources

        return pkg_resources.get_distribution(dist).version
    except Exception:  # noqa: BLE001 - fall back to the next source
        pass
    return getattr(module, "__version__", None)


def detect_libraries():
    """The supported caching libraries importable here (raises RecorderError if none)."""
    found = []
    problems = []
    try:
        import flask_caching
    except Exception as exc:  # noqa: BLE001 - reported below if nothing else is found
        problems.append("flask_caching does not import (%s: %s)" % (type(exc).__name__, exc))
    else:
        version = _dist_version("flask-caching", flask_caching) or "?"
        parts = version.split(".")
        profile = None
        if parts[:2] == ["2", "5"]:
            profile = "2.5"
        elif parts[:2] == ["2", "4"]:
            profile = "2.4"
        if profile is None:
            problems.append("Flask-Caching %s is not supported (2.4.x and 2.5.x are)" % version)
        else:
            import cachelib.simple
            import flask_caching.backends.rediscache
            import flask_caching.backends.simplecache

            found.append(Library("flask-caching", version, profile, flask_caching,
                                 (flask_caching.backends.simplecache.SimpleCache,
                                  cachelib.simple.SimpleCache),
                                 cachelib.simple,
                                 (flask_caching.backends.rediscache.RedisCache,)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import flask_cache
    except Exception as exc:  # noqa: BLE001 - reported below if nothing else is found
        problems.append("flask_cache does not import (%s: %s)" % (type(exc).__name__, exc))
    else:
        version = getattr(flask_cache, "__version__", None) or _dist_version("Flask-Cache", flask_cache) or "?"
        if version.split(".")[:2] == ["0", "13"]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import werkzeug.contrib.cache as werkzeug_cache
            found.append(Library("flask-cache", version, "0.13", flask_cache,
                                 (werkzeug_cache.SimpleCache,), werkzeug_cache,
                                 (werkzeug_cache.RedisCache,)))
        else:
            problems.append("Flask-Cache %s is not supported (0.13.x is)" % version)
    if not found:
        raise RecorderError("no supported caching library here: " + "; ".join(problems))
    return found


# ------------------------------------------------------------------------------------------
# Process-wide patches: clock, sleep, uuid4, logging.
# ------------------------------------------------------------------------------------------


def install(rec, libraries):
    for lib in libraries:
        lib.time_module.time = rec.now
        patch_cache_class(rec, lib)
        capture_logs(rec, logging.getLogger(lib.logger_name))
    uuid.uuid4 = rec.uuid4
    real_sleep = time.sleep

    @functools.wraps(real_sleep)
    def sleep(seconds):
        rec.sleep(seconds)

    time.sleep = sleep


class LogCapture(logging.Handler):
    """`logger.exception(...)` of the library -> a `log` step of the event in progress.
    Records are also passed to `logging.lastResort` when nothing else would print them,
    so the script's stderr is what it would be without the recorder."""

    def __init__(self, rec):
        logging.Handler.__init__(self)
        self.rec = rec

    def emit(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            event = self.rec.innermost_event()
            if event is not None:
                event.steps.append({"log": encode.error(exc)})
        last = logging.lastResort
        if last is not None and record.levelno >= last.level and not self._others(record):
            last.handle(record)

    def _others(self, record):
        logger = logging.getLogger(record.name)
        while logger is not None:
            if any(h is not self for h in logger.handlers):
                return True
            if not logger.propagate:
                return False
            logger = logger.parent
        return False


def capture_logs(rec, logger):
    logger.addHandler(LogCapture(rec))


# ------------------------------------------------------------------------------------------
# The backend: every outermost call is a store step.
# ------------------------------------------------------------------------------------------


def _key(rec, k, what):
    """A key as the trace records it: a `str` as it is, another value tagged."""
    if isinstance(k, str):
        return k
    config = getattr(rec, "config", None) or {}
    problem = encode.key_problem(k, redis=config.get("backend") == "RedisCache")
    if problem is not None:
        rec.fail("%s: key %r: %s" % (what, k, problem))
    return encode.value(k)


def _timeout(rec, t, what):
    if t is None or type(t) is int:
        return t
    if type(t) is float and t.is_integer():
        return int(t)
    rec.fail("%s: timeout=%r: the trace records integer timeouts only" % (what, t))


def backend_op(rec, name, args, kwargs):
    """The trace's OP for backend method `name` called with `args`/`kwargs`, or None when
    the call does not fit the method (it then raises TypeError without touching the cache)."""
    real = rec.real_backend[name]
    what = "cache.%s()" % name
    try:
        signature = inspect.signature(real)
    except (TypeError, ValueError):
        signature = None
    if signature is None:
        # Werkzeug's SimpleCache.clear is the instance dict's clear.
        if args or kwargs:
            return None
        return {"op": name}
    try:
        arguments = signature.bind(*args, **kwargs).arguments
    except TypeError:
        return None
    if name in ("get", "has", "delete"):
        return {"op": name, "key": _key(rec, arguments["key"], what)}
    if name in ("get_many", "delete_many"):
        return {"op": name, "keys": [_key(rec, k, what) for k in arguments.get("keys", ())]}
    if name in ("set", "add"):
        return {"op": name, "key": _key(rec, arguments["key"], what),
                "value": encode.value(arguments["value"]),
                "timeout": _timeout(rec, arguments.get("timeout"), what)}
    if name == "set_many":
        mapping = arguments["mapping"]
        if hasattr(mapping, "keys") and hasattr(mapping, "items"):
            items = list(mapping.items())
        elif isinstance(mapping, (list, tuple)):
            items = [tuple(p) for p in mapping]
        else:
            rec.fail("%s: the mapping %r is neither a dict nor a list of pairs" % (what, mapping))
        return {"op": name, "items": [[_key(rec, k, what), encode.value(v)] for k, v in items],
                "timeout": _timeout(rec, arguments.get("timeout"), what)}
    return {"op": "clear"}


def backend_reply(rec, name, rv):
    if name == "get":
        return {"value": encode.value(rv)}
    if name == "get_many":
        return {"values": [encode.value(v) for v in rv]}
    if type(rv) is bool:
        return {"bool": rv}
    if type(rv) is list and name in ("set_many", "delete_many"):
        return {"keys": [_key(rec, k, "cache.%s() reply" % name) for k in rv]}
    return {"value": encode.value(rv)}


def instrument_backend(rec, backend):
    for name in BACKEND_METHODS:
        real = getattr(backend, name)
        rec.real_backend[name] = real
        setattr(backend, name, _tracer(rec, name, real))


def _tracer(rec, name, real):
    def traced(*args, **kwargs):
        if rec.backend_depth:
            return real(*args, **kwargs)
        standalone = rec.starts_event("the backend's %s()" % name)
        op = backend_op(rec, name, args, kwargs)
        if op is None:
            return real(*args, **kwargs)
        event = rec.begin({"backend": op}) if standalone else None
        rec.backend_depth += 1
        try:
            try:
                rv = real(*args, **kwargs)
            finally:
                rec.backend_depth -= 1
        except RecorderError:
            if event is not None:
                rec.abort(event)
            raise
        except BaseException as exc:
            try:
                rec.step({"store": op, "reply": encode.raises(exc)})
            except RecorderError:
                if event is not None:
                    rec.abort(event)
                raise
            if event is not None:
                rec.finish(event, lambda: encode.raises(exc))
            raise
        try:
            rec.step({"store": op, "reply": backend_reply(rec, name, rv)})
        except RecorderError:
            if event is not None:
                rec.abort(event)
            raise
        if event is not None:
            rec.finish(event, lambda: encode.result(rv))
        return rv

    traced.__name__ = name
    return traced


# ------------------------------------------------------------------------------------------
# Cache: configuration, proxies, deletes, decorators.
# ------------------------------------------------------------------------------------------


def patch_cache_class(rec, lib):
    Cache = lib.cache_class
    _patch(Cache, "_set_cache", _set_cache_patch(rec, lib))
    _patch(Cache, "_memoize_make_version_hash", _version_patch(rec))
    for name in BACKEND_METHODS:
        if name in vars(Cache):
            _patch(Cache, name, _proxy_patch(rec, name))
    _patch(Cache, "delete_memoized", _delete_memoized_patch(rec))
    _patch(Cache, "delete_memoized_verhash", _verhash_patch(rec))
    if "delete_cached" in vars(Cache):
        _patch(Cache, "delete_cached", _delete_cached_patch(rec))
    _patch(Cache, "memoize", _memoize_patch(rec, lib))
    _patch(Cache, "cached", _cached_patch(rec, lib))
    real_url_for = getattr(lib.module, "url_for", None)
    if real_url_for is not None:
        lib.module.url_for = _url_for_patch(rec, real_url_for)


def _patch(cls, name, make):
    original = vars(cls)[name]
    patched = make(original)
    functools.update_wrapper(patched, original)
    setattr(cls, name, patched)


def _set_cache_patch(rec, lib):
    def make(original):
        def _set_cache(self, app, config):
            original(self, app, config)
            backend = app.extensions["cache"][self]
            if type(backend) in lib.redis_classes:
                key_prefix = _use_fake_redis(rec, backend)
                rec.configure(lib, self, app, config, backend, "RedisCache", key_prefix)
            elif type(backend) in lib.backend_classes:
                rec.configure(lib, self, app, config, backend)
            else:
                rec.fail("the backend is %s.%s (CACHE_TYPE=%r), but the recorder supports "
                         "%s only; set CACHE_TYPE to \"SimpleCache\"%s"
                         % (type(backend).__module__, type(backend).__name__,
                            config.get("CACHE_TYPE"),
                            "SimpleCache and RedisCache" if lib.redis_classes else "SimpleCache",
                            " (Flask-Cache 0.13: \"simple\" or \"redis\")"
                            if lib.profile == "0.13" else ""))
            instrument_backend(rec, backend)

        return _set_cache

    return make


def _use_fake_redis(rec, backend):
    """Points a RedisCache backend at an empty in-process fakeredis server on the virtual
    clock (whatever client Flask-Caching built is never used) and returns the key prefix
    the backend applies."""
    why = redis_server.missing()
    if why is not None:
        rec.fail("a RedisCache is recorded against fakeredis on the virtual clock, "
                 "but fakeredis does not import here (%s); pip install fakeredis==2.40.0 "
                 "(on Python 3.7: fakeredis==2.37.0)" % why)
    key_prefix = backend.key_prefix
    if not isinstance(key_prefix, str):
        rec.fail("the RedisCache key_prefix %r is not a str; the trace records a fixed prefix only"
                 % (key_prefix,))
    client = redis_server.fake_client(rec.now)
    if hasattr(backend, "_client"):
        # Werkzeug 0.16's RedisCache (Flask-Cache 0.13) has one client.
        backend._client = client
    else:
        backend._read_client = backend._write_client = client
    for name in REDIS_UNRECORDED:
        if hasattr(backend, name):
            setattr(backend, name, _refused_backend_method(rec, name))
    return key_prefix


def _refused_backend_method(rec, name):
    def refused(*args, **kwargs):
        rec.fail("cache.%s() on RedisCache changes the cache with a command the trace cannot "
                 "express (only get, get_many, has, set, add, set_many, delete, delete_many "
                 "and clear are recorded)" % name)

    refused.__name__ = name
    return refused


def _version_patch(rec):
    def make(original):
        def _memoize_make_version_hash(self):
            version = original(self)
            rec.minted(version)
            return version

        return _memoize_make_version_hash

    return make


def _proxy_patch(rec, name):
    def make(original):
        def proxy(self, *args, **kwargs):
            rec.claim(self)
            if not rec.starts_event("cache.%s()" % name):
                return original(self, *args, **kwargs)
            if rec.backend is None:
                rec.fail("cache.%s() was called before Cache.init_app bound the Cache to an app" % name)
            op = backend_op(rec, name, args, kwargs)
            if op is None:
                return original(self, *args, **kwargs)
            return rec.run({"backend": op}, original, (self,) + args, kwargs)

        return proxy

    return make


def _delete_memoized_patch(rec):
    def make(original):
        def delete_memoized(self, f, *args, **kwargs):
            rec.claim(self)
            if not rec.starts_event("cache.delete_memoized()") or not callable(f):
                return original(self, f, *args, **kwargs)
            decl, bound_to = rec.lookup(f, "memoize", "cache.delete_memoized")
            rec.check_attributes(decl)
            if args:
                _check_receiver_class(rec, decl.library, decl, args[0])
            command = {"delete_memoized": decl.id, "bound_to": bound_to,
                       "args": [encode.value(a) for a in args],
                       "kwargs": encode.kwargs_pairs(kwargs)}
            return rec.run(command, original, (self, f) + args, kwargs)

        return delete_memoized

    return make


def _verhash_patch(rec):
    def make(original):
        def delete_memoized_verhash(self, f, *args):
            rec.claim(self)
            if not rec.starts_event("cache.delete_memoized_verhash()") or not callable(f):
                return original(self, f, *args)
            decl, bound_to = rec.lookup(f, "memoize", "cache.delete_memoized_verhash")
            command = {"delete_memoized_verhash": decl.id, "bound_to": bound_to}
            return rec.run(command, original, (self, f) + args, {})

        return delete_memoized_verhash

    return make


def _delete_cached_patch(rec):
    def make(original):
        def delete_cached(self, f, path=None, query_args=None, **kwargs):
            rec.claim(self)
            if not rec.starts_event("cache.delete_cached()"):
                return original(self, f, path, query_args, **kwargs)
            decl, _ = rec.lookup(f, "cached", "cache.delete_cached")
            rec.check_attributes(decl)
            if path is not None and not isinstance(path, str):
                rec.fail("cache.delete_cached(path=%r): the trace records str paths only" % (path,))
            q_json, query_args = encode.query_args(query_args)
            command = {"delete_cached": decl.id, "path": path, "query_args": q_json,
                       "url_for": None}
            if decl.query_string:
                request = _current_request()
                if request is not None:
                    command["current_request"] = request
            return rec.run(command, original, (self, f, path, query_args), kwargs)

        return delete_cached

    return make


def _url_for_patch(rec, real_url_for):
    @functools.wraps(real_url_for)
    def url_for(*args, **kwargs):
        rv = real_url_for(*args, **kwargs)
        top = rec.top()
        if isinstance(top, Event) and top.command.get("url_for", 0) is None:
            top.command["url_for"] = rv
        return rv

    return url_for


def _current_request():
    from flask import has_request_context, request

    if not has_request_context():
        return None
    return {"path": request.path,
            "args": [[k, v] for k, v in request.args.items(multi=True)]}


# -- user callbacks the library calls -------------------------------------------------------


def _call_user(rec, name, fn, args, kwargs):
    """Runs a user callback; inside an event it is a Hook context (no cache calls)."""
    top = rec.top()
    if not isinstance(top, Event):
        return fn(*args, **kwargs), None
    ctx = Hook(top, name)
    rec.push(ctx)
    try:
        return fn(*args, **kwargs), top
    finally:
        rec.pop(ctx)


def _wrap_hook(rec, name, hook):
    def recorded_hook(*args, **kwargs):
        top = rec.top()
        if not isinstance(top, Event):
            return hook(*args, **kwargs)
        try:
            rv, _ = _call_user(rec, name, hook, args, kwargs)
        except RecorderError:
            raise
        except BaseException as exc:
            top.steps.append({"hook": name, "answer": encode.raises(exc)})
            raise
        answer = bool(rv) if name == "response_filter" else rv is True
        top.steps.append({"hook": name, "answer": answer})
        return rv

    return _wraps_callable(recorded_hook, hook)


def _wraps_callable(wrapper, wrapped):
    """`functools.wraps` that tolerates callables without a __name__ (instances, partials);
    `__wrapped__` makes `inspect.signature(wrapper)` the wrapped callable's, which is what
    Flask-Caching looks at to decide how to call hooks."""
    try:
        functools.update_wrapper(wrapper, wrapped)
    except (AttributeError, TypeError):
        wrapper.__wrapped__ = wrapped
    return wrapper


def _wrap_key_prefix(rec, key_prefix):
    def recorded_key_prefix(*args, **kwargs):
        rv, event = _call_user(rec, "key_prefix", key_prefix, args, kwargs)
        if event is not None:
            if not isinstance(rv, str):
                rec.fail("the key_prefix callable returned %r; the trace records str results only" % (rv,))
            command = event.command
            if "request" in command and command.get("prefix_result", 0) is None:
                command["prefix_result"] = rv
            elif "delete_cached" in command and "prefix_result" not in command:
                command["prefix_result"] = rv
        return rv

    return _wraps_callable(recorded_key_prefix, key_prefix)


def _wrap_make_cache_key(rec, make_cache_key):
    def recorded_make_cache_key(*args, **kwargs):
        rv, event = _call_user(rec, "make_cache_key", make_cache_key, args, kwargs)
        if event is not None:
            if not isinstance(rv, str):
                rec.fail("the make_cache_key callable returned %r; the trace records str keys only" % (rv,))
            if event.command.get("custom_key", 0) is None:
                event.command["custom_key"] = rv
        return rv

    return _wraps_callable(recorded_make_cache_key, make_cache_key)


def _hooks(rec, lib, arguments):
    """Wraps the hooks given in `arguments` (a BoundArguments mapping) in place and returns
    their names."""
    names = []
    for name in HOOK_NAMES:
        hook = arguments.get(name)
        if callable(hook):
            arguments[name] = _wrap_hook(rec, name, hook)
            names.append(name)
    return names


# -- decorators -----------------------------------------------------------------------------


def _check_receiver_class(rec, lib, decl, obj):
    """Flask-Caching 2.x derives an id from the first argument of a function whose first
    parameter is `self` or `cls` with `get_id`, which uses `__caching_id__` when the object
    has one. For a class that defines it as a method, that calls it on the class itself
    (2.5: unbound, 2.4: with the class as `self`); a trace's class value cannot carry that."""
    if lib.profile == "0.13" or decl.first_param not in ("self", "cls") or not inspect.isclass(obj):
        return
    if getattr(obj, "__caching_id__", None) is not None:
        rec.fail("class %s.%s defines __caching_id__ and is the first argument of memoized %s; "
                 "Flask-Caching then calls __caching_id__ on the class itself, which a "
                 "trace's class value cannot express (memoize the classmethod in a class "
                 "without __caching_id__)"
                 % (obj.__module__, obj.__qualname__, decl.outer.__qualname__))


def _bind(original, self, args, kwargs):
    try:
        return inspect.signature(original).bind(self, *args, **kwargs)
    except TypeError:
        return None


def _check_function(rec, f, what):
    if not inspect.isfunction(f):
        rec.fail("%s was applied to %r, which is not a plain function; the trace describes "
                 "functions only (put @classmethod/@staticmethod above the cache decorator)"
                 % (what, f))
    if inspect.iscoroutinefunction(f) or inspect.isasyncgenfunction(f):
        rec.fail("%s was applied to async function %s.%s; the recorder handles synchronous "
                 "functions only" % (what, f.__module__, f.__qualname__))


def _source(rec, f):
    try:
        return inspect.getsource(f)
    except (OSError, TypeError) as exc:
        rec.fail("source_check is on for %s.%s but its source cannot be read: %s"
                 % (f.__module__, f.__qualname__, exc))


def _make_body(rec, lib, f):
    if lib.profile == "2.5":
        from flask_caching.utils import join_generator as drain
    elif lib.profile == "2.4":
        drain = list
    else:
        drain = None

    def body(*args, **kwargs):
        top = rec.top()
        if not isinstance(top, Event):
            return f(*args, **kwargs)
        ctx = Compute(top)
        top.steps.append(ctx.step)
        rec.push(ctx)
        try:
            rv = f(*args, **kwargs)
            recorded = rv
            if drain is not None and inspect.isgenerator(rv):
                # Flask-Caching drains generator results (2.5: joined, FC-1.1.8; 2.4: a
                # list); the compute result is what that gives, and the library gets an
                # equivalent generator.
                chunks = list(rv)
                recorded = drain(iter(chunks))
                rv = (chunk for chunk in chunks)
        except RecorderError:
            raise
        except BaseException as exc:
            ctx.step["compute"] = encode.raises(exc)
            raise
        finally:
            rec.pop(ctx)
            if ctx.events:
                ctx.step["events"] = [e.to_json() for e in ctx.events]
        ctx.step["compute"] = encode.result(recorded)
        return rv

    functools.update_wrapper(body, f)
    if lib.profile == "0.13":
        # Flask-Cache 0.13 reads parameters with inspect.getargspec, which does not follow
        # __wrapped__; it follows __signature__.
        body.__signature__ = inspect.signature(f, follow_wrapped=False)
    return body


def _make_outer(decorated, call):
    def outer(*args, **kwargs):
        return call(decorated, args, kwargs)

    functools.update_wrapper(outer, decorated, updated=())
    outer.__dict__ = decorated.__dict__
    return outer


def _memoize_patch(rec, lib):
    def make(original):
        def memoize(self, *args, **kwargs):
            rec.claim(self)
            bound = _bind(original, self, args, kwargs)
            if bound is None:
                return original(self, *args, **kwargs)
            given = dict(bound.arguments)
            if callable(given.get("timeout")):
                rec.fail("@cache.memoize was applied without parentheses (to %r); write "
                         "@cache.memoize()" % (given["timeout"],))
            hooks = _hooks(rec, lib, bound.arguments)
            make_name = given.get("make_name")
            hash_method = given.get("hash_method")
            args_to_ignore = given.get("args_to_ignore") or []
            if not all(isinstance(n, str) for n in args_to_ignore):
                rec.fail("args_to_ignore=%r: expected names (str)" % (args_to_ignore,))
            options = {
                "timeout": lib.normalize_timeout(rec, given.get("timeout"), "@cache.memoize"),
                "make_name": encode.make_name_template(make_name) if callable(make_name) else None,
                "hash_method": encode.hash_name(hash_method) if hash_method is not None else None,
                "args_to_ignore": list(args_to_ignore),
                "source": None,
                "cache_none": bool(given.get("cache_none", False)),
                "hooks": hooks,
            }
            source_check = given.get("source_check")
            decorator = original(*bound.args, **bound.kwargs)

            def record_memoize(f):
                _check_function(rec, f, "@cache.memoize()")
                descriptor = encode.describe_function(f, follow_wrapped=lib.profile != "0.13")
                body = _make_body(rec, lib, f)
                decorated = decorator(body)
                if lib.profile == "0.13":
                    decorated.__dict__.pop("__signature__", None)

                def finish(decl):
                    opts = decl.body["options"]
                    if source_check or (source_check is None and rec.config_source_check):
                        opts["source"] = _source(rec, f)
                    if opts["hash_method"] is None and rec.config_hash not in (None, "sha256"):
                        opts["hash_method"] = rec.config_hash

                binding = descriptor["binding"]

                def call(fn, args, kwargs):
                    if not rec.starts_event("calling %s" % f.__qualname__):
                        return fn(*args, **kwargs)
                    rec.check_attributes(decl)
                    if args:
                        _check_receiver_class(rec, lib, decl, args[0])
                    bound_to, rest = None, args
                    if args and binding == "instance_method":
                        receiver = encode.value(args[0])
                        if receiver["t"] == "object":
                            bound_to, rest = {"instance": receiver}, args[1:]
                    elif args and binding == "classmethod" and inspect.isclass(args[0]):
                        bound_to, rest = {"class": encode.value(args[0])}, args[1:]
                    command = {"call": decl.id, "bound_to": bound_to,
                               "args": [encode.value(a) for a in rest],
                               "kwargs": encode.kwargs_pairs(kwargs)}
                    return rec.run(command, fn, args, kwargs)

                outer = _make_outer(decorated, call)
                decl = rec.declare("memoize", {"function": descriptor, "options": options},
                                   finish, [outer, decorated, body])
                decl.outer = outer
                decl.library = lib
                params = descriptor["params"]
                decl.first_param = params[0]["name"] if params else None
                decl.timeout = options["timeout"]
                decl.make_cache_key = decorated.make_cache_key
                decl.normalize_timeout = lambda t: lib.normalize_timeout(rec, t, f.__qualname__ + ".cache_timeout")
                return outer

            return record_memoize

        return memoize

    return make


def _cached_patch(rec, lib):
    def make(original):
        signature = inspect.signature(original)
        default_prefix = signature.parameters["key_prefix"].default

        def cached(self, *args, **kwargs):
            rec.claim(self)
            bound = _bind(original, self, args, kwargs)
            if bound is None:
                return original(self, *args, **kwargs)
            given = dict(bound.arguments)
            if callable(given.get("timeout")):
                rec.fail("@cache.cached was applied without parentheses (to %r); write "
                         "@cache.cached()" % (given["timeout"],))
            hooks = _hooks(rec, lib, bound.arguments)
            key_prefix = given.get("key_prefix", default_prefix)
            if callable(key_prefix):
                prefix_json = {"callable": True}
                bound.arguments["key_prefix"] = _wrap_key_prefix(rec, key_prefix)
            elif isinstance(key_prefix, str):
                prefix_json = {"template": key_prefix}
            else:
                rec.fail("@cache.cached(key_prefix=%r): expected a str or a callable" % (key_prefix,))
            make_cache_key = given.get("make_cache_key")
            custom_key = callable(make_cache_key)
            if custom_key:
                bound.arguments["make_cache_key"] = _wrap_make_cache_key(rec, make_cache_key)
            hash_method = given.get("hash_method")
            query_string = bool(given.get("query_string", False))
            options = {
                "key_prefix": prefix_json,
                "query_string": query_string,
                "hash_method": encode.hash_name(hash_method) if hash_method is not None else None,
                "source": None,
                "timeout": lib.normalize_timeout(rec, given.get("timeout"), "@cache.cached"),
                "cache_none": bool(given.get("cache_none", False)),
                "make_cache_key": custom_key,
                "hooks": hooks,
            }
            source_check = given.get("source_check")
            decorator = original(*bound.args, **bound.kwargs)

            def record_cached(f):
                _check_function(rec, f, "@cache.cached()")
                body = _make_body(rec, lib, f)
                decorated = decorator(body)
                if lib.profile == "0.13":
                    decorated.__dict__.pop("__signature__", None)

                def finish(decl):
                    opts = decl.body["options"]
                    if source_check or (source_check is None and rec.config_source_check):
                        opts["source"] = _source(rec, f)
                    if opts["hash_method"] is None and rec.config_hash not in (None, "sha256"):
                        opts["hash_method"] = rec.config_hash

                def call(fn, args, kwargs):
                    if not rec.starts_event("calling %s" % f.__qualname__):
                        return fn(*args, **kwargs)
                    rec.check_attributes(decl)
                    request = _current_request()
                    command = {"request": decl.id,
                               "path": request["path"] if request else None,
                               "args": request["args"] if request else None,
                               "prefix_result": None, "custom_key": None}
                    return rec.run(command, fn, args, kwargs)

                outer = _make_outer(decorated, call)
                decl = rec.declare("cached", {"name": f.__name__, "options": options},
                                   finish, [outer, decorated, body])
                decl.outer = outer
                decl.query_string = query_string
                decl.timeout = options["timeout"]
                decl.make_cache_key = decorated.make_cache_key
                decl.normalize_timeout = lambda t: lib.normalize_timeout(rec, t, f.__qualname__ + ".cache_timeout")
                return outer

            return record_cached

        return cached

    return make
