"""The recording: configuration, declarations and events, and where each step goes.

Contexts (innermost last) say what is running right now:

- none: the script itself. A cache call starts a top-level event.
- ``Event``: Flask-Caching is handling a call. Its own calls of the proxies, the backend and
  the decorated function are part of that event (store steps, compute step), not new events.
- ``Compute``: the decorated function's body is running. Cache calls it makes start nested
  events of that compute step.
- ``Hook``: a user callback the library called (`unless`, `forced_update`, `is_stale`,
  `response_filter`, a callable `key_prefix`, a custom `make_cache_key`). The trace cannot
  say what such a callback did to the cache, so cache calls there are refused.
"""

import hashlib
import json
import sys
import uuid

from . import encode
from .errors import RecorderError

START_TIME_US = 1000 * 1000000


def format_time(us):
    return "%d.%06d" % divmod(us, 1000000)


class Event(object):
    def __init__(self, number, at, command):
        self.number = number
        self.at = at
        self.command = command
        self.versions = []
        self.steps = []
        self.result = None

    def to_json(self):
        return {
            "event": self.number,
            "at": format_time(self.at),
            "command": self.command,
            "versions": self.versions,
            "steps": self.steps,
            "result": self.result,
        }


class Compute(object):
    def __init__(self, event):
        self.event = event
        self.step = {"compute": None}
        self.events = []


class Hook(object):
    def __init__(self, event, name):
        self.event = event
        self.name = name


class Declaration(object):
    """A memoized function (`m1`, ...) or a `@cached` function (`c1`, ...)."""

    def __init__(self, kind, ident, body, finish):
        self.kind = kind
        self.id = ident
        self.body = body
        self._finish = finish
        self.outer = None
        self.timeout = None
        self.make_cache_key = None
        self.normalize_timeout = None

    def to_json(self):
        self._finish(self)
        return {self.kind: self.body}


class Recorder(object):
    def __init__(self, libraries):
        self.libraries = libraries
        self.clock_us = START_TIME_US
        self.stack = []
        self.lines = []
        self.pending = []
        self.config = None
        self.config_written = False
        self.library = None
        self.cache = None
        self.app = None
        self.backend = None
        self.real_backend = {}
        self.backend_depth = 0
        self.events = 0
        self.counts = {"memoize": 0, "cached": 0}
        self.registry = {}
        self.uuid_draws = 0
        self.failure = None
        self.config_hash = None
        self.config_source_check = False

    # -- failures -------------------------------------------------------------------

    def fail(self, message):
        """Stop the run: `message` says what cannot be recorded."""
        error = RecorderError(message)
        if self.failure is None:
            self.failure = error
        raise error

    # -- clock and versions -----------------------------------------------------------

    def now(self):
        return self.clock_us / 1e6

    def sleep(self, seconds):
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        top = self.top()
        if isinstance(top, (Event, Hook)):
            self.fail("time.sleep(%r) inside a hook or key callback of a cached call cannot be "
                      "recorded" % seconds)
        if self.config is None:
            self.clock_us += int(round(seconds * 1e6))
            return
        event = self.begin({"tick": seconds})
        self.clock_us += int(round(seconds * 1e6))
        self.end(event, encode.result(None))

    def uuid4(self):
        self.uuid_draws += 1
        seed = ("flaskcache_recorder uuid4 %d" % self.uuid_draws).encode("ascii")
        return uuid.UUID(bytes=hashlib.sha256(seed).digest()[:16], version=4)

    def minted(self, version):
        event = self.innermost_event()
        if event is not None:
            event.versions.append(version)

    # -- contexts ---------------------------------------------------------------------

    def top(self):
        return self.stack[-1] if self.stack else None

    def innermost_event(self):
        for ctx in reversed(self.stack):
            if isinstance(ctx, Event):
                return ctx
            if isinstance(ctx, (Compute, Hook)):
                return ctx.event
        return None

    def starts_event(self, what):
        """Whether a cache call made now is an event of its own (True), part of the event
        in progress (False), or not recordable (fails)."""
        top = self.top()
        if top is None or isinstance(top, Compute):
            return True
        if isinstance(top, Hook):
            self.fail("%s inside the %s callback of a cached call: the trace cannot express "
                      "cache calls made by hooks" % (what, top.name))
        return False

    def push(self, ctx):
        self.stack.append(ctx)

    def pop(self, ctx):
        if not self.stack or self.stack[-1] is not ctx:
            self.fail("internal error: unbalanced recording contexts")
        self.stack.pop()

    # -- ownership and configuration ---------------------------------------------------

    def claim(self, cache):
        if self.cache is None:
            self.cache = cache
        elif self.cache is not cache:
            self.fail("the script uses a second Cache instance; a trace records one Cache "
                      "bound to one app")

    def configure(self, library, cache, app, config, backend, backend_name="SimpleCache",
                  key_prefix=None):
        if self.config is not None:
            self.fail("Cache.init_app ran a second time; a trace records one Cache bound to one app")
        self.claim(cache)
        self.library = library
        self.app = app
        self.backend = backend
        default_timeout = getattr(backend, "default_timeout", config.get("CACHE_DEFAULT_TIMEOUT"))
        threshold = getattr(backend, "_threshold", config.get("CACHE_THRESHOLD"))
        for name, v in (("CACHE_DEFAULT_TIMEOUT", default_timeout), ("CACHE_THRESHOLD", threshold)):
            if type(v) is not int:
                self.fail("%s=%r: the trace records integers only" % (name, v))
        self.config = {
            "library": library.name,
            "library_version": library.version,
            "profile": library.profile,
            "python": "%d.%d" % sys.version_info[:2],
            "backend": backend_name,
            "key_prefix": key_prefix,
            "default_timeout": default_timeout,
            "threshold": threshold,
            "ignore_errors": bool(config.get("CACHE_IGNORE_ERRORS", False)),
            "debug": None,
            "start_time": None,
        }
        if library.profile == "2.5":
            self.config_hash = encode.hash_name(config.get("CACHE_HASH_METHOD", hashlib.sha256))
        if library.profile in ("2.5", "2.4"):
            self.config_source_check = bool(config.get("CACHE_SOURCE_CHECK", False))

    def write_config(self):
        """Writes the configuration line (with `app.debug` as it is now) and the
        declarations made so far."""
        if self.config_written:
            return
        if self.config is None:
            self.fail("a cache call happened before Cache.init_app bound the Cache to an app")
        self.config["debug"] = bool(self.app.debug)
        self.config["start_time"] = format_time(self.clock_us)
        self.config_written = True
        self.emit({"config": self.config})
        pending, self.pending = self.pending, []
        for decl in pending:
            self.emit(decl.to_json())

    def check_debug(self):
        if bool(self.app.debug) != self.config["debug"]:
            self.fail("app.debug changed from %s to %s during the run; the trace records one "
                      "debug setting (set it before the first cache call)"
                      % (self.config["debug"], bool(self.app.debug)))

    # -- declarations -----------------------------------------------------------------

    def declare(self, kind, body, finish, objects):
        self.counts[kind] += 1
        ident = ("m%d" if kind == "memoize" else "c%d") % self.counts[kind]
        body = dict([("id", ident)] + list(body.items()))
        decl = Declaration(kind, ident, body, finish)
        for obj in objects:
            self.registry[id(obj)] = (obj, decl)
        if self.config_written:
            self.emit(decl.to_json())
        else:
            self.pending.append(decl)
        return decl

    def lookup(self, f, kind, what):
        """`(declaration, bound_to)` for `f` as passed to `delete_memoized`/`delete_cached`:
        a decorated function, or a method bound to an instance or class."""
        entry = self.registry.get(id(f))
        if entry is not None and entry[0] is f and entry[1].kind == kind:
            return entry[1], None
        func = getattr(f, "__func__", None)
        entry = self.registry.get(id(func)) if func is not None else None
        if entry is not None and entry[0] is func and entry[1].kind == kind:
            return entry[1], encode.receiver(f.__self__)
        self.fail("%s(%r): not a function decorated with this Cache's @%s, so the trace cannot "
                  "name it" % (what, f, kind))

    def check_attributes(self, decl):
        """The decorated function's `cache_timeout` and `make_cache_key` must still be what
        the declaration recorded (Flask-Caching reads them on every call)."""
        outer = decl.outer
        timeout = decl.normalize_timeout(getattr(outer, "cache_timeout", None))
        if timeout != decl.timeout:
            self.fail("%s.cache_timeout changed from %r to %r after decoration; the trace "
                      "records the decorator's timeout only" % (outer.__qualname__, decl.timeout, timeout))
        if getattr(outer, "make_cache_key", None) is not decl.make_cache_key:
            self.fail("%s.make_cache_key was replaced after decoration; the trace cannot "
                      "express that" % outer.__qualname__)

    # -- events -----------------------------------------------------------------------

    def begin(self, command):
        self.write_config()
        if "tick" not in command:
            self.check_debug()
        self.events += 1
        event = Event(self.events, self.clock_us, command)
        top = self.top()
        if isinstance(top, Compute):
            top.events.append(event)
        event.parent = top
        self.push(event)
        return event

    def end(self, event, result):
        self.pop(event)
        event.result = result
        if event.parent is None:
            self.emit(event.to_json())

    def run(self, command, fn, args, kwargs):
        """Runs `fn(*args, **kwargs)` as one event with `command`."""
        event = self.begin(command)
        try:
            rv = fn(*args, **kwargs)
        except RecorderError:
            raise
        except BaseException as exc:
            self.end(event, encode.raises(exc))
            raise
        self.end(event, encode.result(rv))
        return rv

    def step(self, step):
        event = self.innermost_event()
        if event is None:
            self.fail("internal error: a step outside any event")
        event.steps.append(step)

    # -- output -----------------------------------------------------------------------

    def emit(self, record):
        try:
            line = json.dumps(record, ensure_ascii=False)
            line.encode("utf-8")
        except UnicodeEncodeError:
            self.fail("a recorded string holds a lone surrogate, which UTF-8 (and the trace) "
                      "cannot carry")
        except (TypeError, ValueError) as exc:
            self.fail("internal error: cannot write %r: %s" % (record, exc))
        self.lines.append(line)

    def text(self):
        if self.config is None:
            self.fail("the script never bound a Flask-Caching Cache to an app (Cache(app) or "
                      "cache.init_app(app)), so there is nothing to record")
        self.write_config()
        header = json.dumps({"flaskcache_trace": 1})
        return "".join(line + "\n" for line in [header] + self.lines)
