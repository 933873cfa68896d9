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

Threads: each thread has its own stack of contexts. A top-level event holds the recording
lock from its start to its end (nested events and the function body included), so events
of different threads never interleave: each one is recorded, and replayed, as one atomic
call, in the order the threads got the lock (which is the order they completed).
"""

import hashlib
import json
import os
import site as site_module
import sys
import sysconfig
import threading
import uuid

from . import encode, errors
from .errors import RecorderError

START_TIME_US = 1000 * 1000000

# Packages whose frames are never a call site: the caching library, what it runs on, and
# the recorder itself.
LIBRARY_PACKAGES = frozenset(("flask", "flask_caching", "flask_cache", "cachelib", "werkzeug",
                              "flaskcache_recorder"))

# The recorder's own files.
RECORDER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")

# How long a thread waits for another thread's cached call before the run is stopped.
LOCK_WAIT_SECONDS = 60.0


def format_time(us):
    return "%d.%06d" % divmod(us, 1000000)


class Event(object):
    def __init__(self, number, at, command, site=None):
        self.number = number
        self.at = at
        self.command = command
        self.site = site
        self.versions = []
        self.steps = []
        self.result = None
        self.parent = None

    def to_json(self):
        return {
            "event": self.number,
            "at": format_time(self.at),
            "site": self.site,
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


def _installed_dirs():
    """`(stdlib, site)`: the directories of the standard library and of installed
    packages, each with a trailing separator."""
    def norm(paths):
        out = set()
        for p in paths:
            if p:
                out.add(os.path.join(os.path.realpath(p), ""))
                out.add(os.path.join(os.path.abspath(p), ""))
        return tuple(sorted(out))

    paths = sysconfig.get_paths()
    stdlib = [paths.get("stdlib"), paths.get("platstdlib")]
    site_dirs = [paths.get("purelib"), paths.get("platlib")]
    try:
        site_dirs.extend(site_module.getsitepackages())
    except AttributeError:  # pragma: no cover - old virtualenv's site module
        pass
    site_dirs.append(getattr(site_module, "USER_SITE", None))
    site_dirs.extend(p for p in sys.path
                     if os.path.basename(p.rstrip(os.sep)) in ("site-packages", "dist-packages"))
    return norm(stdlib), norm(site_dirs)


class Sites(object):
    """Finds where the user's code made a call: the innermost frame outside
    `LIBRARY_PACKAGES`, preferring the script's own code (not the standard library or an
    installed package) when the stack has any. Frames are classified once per code object,
    so a lookup is a walk over `f_back` links and dict lookups."""

    USER, INSTALLED, SKIPPED = 0, 1, 2

    def __init__(self, cwd=None):
        self.cwd = os.path.join(os.path.abspath(cwd or os.getcwd()), "")
        self.stdlib, self.site_dirs = _installed_dirs()
        self.kinds = {}
        self.files = {}

    def kind(self, frame):
        code = frame.f_code
        kind = self.kinds.get(code)
        if kind is None:
            kind = self._classify(frame)
            self.kinds[code] = kind
        return kind

    def _classify(self, frame):
        module = frame.f_globals.get("__name__")
        if isinstance(module, str) and module.partition(".")[0] in LIBRARY_PACKAGES:
            return self.SKIPPED
        filename = frame.f_code.co_filename
        if filename.startswith("<frozen"):
            return self.SKIPPED
        if filename.startswith("<"):
            return self.USER
        path = os.path.abspath(filename)
        if path.startswith(RECORDER_DIR):
            return self.SKIPPED  # the recorder's __main__ runs as `__main__`
        if path.startswith(self.site_dirs):
            return self.INSTALLED
        if path.startswith(self.stdlib):
            return self.SKIPPED
        return self.USER

    def file(self, filename):
        name = self.files.get(filename)
        if name is None:
            name = filename
            if not filename.startswith("<"):
                path = os.path.abspath(filename)
                if path.startswith(self.cwd):
                    name = os.path.relpath(path, self.cwd).replace(os.sep, "/")
            self.files[filename] = name
        return name

    def site(self, frame):
        """`{"file", "line", "function"}` of the call site at or outside `frame`, or None
        when no frame of the stack is outside the libraries and the standard library."""
        fallback = None
        while frame is not None:
            kind = self.kind(frame)
            if kind == self.USER:
                break
            if kind == self.INSTALLED and fallback is None:
                fallback = frame
            frame = frame.f_back
        frame = frame or fallback
        if frame is None:
            return None
        code = frame.f_code
        return {"file": self.file(code.co_filename), "line": frame.f_lineno,
                "function": code.co_name}


class Recorder(object):
    def __init__(self, libraries):
        self.libraries = libraries
        self.clock_us = START_TIME_US
        self.local = threading.local()
        # Held by the thread whose top-level event is in progress, and around every
        # write; reentrant so that nested events of that thread go through.
        self.lock = threading.RLock()
        self.holder = None
        self.uuid_lock = threading.Lock()
        self.sites = Sites()
        errors.locate = self.sites.site
        errors.report = self._report
        self.closed = False
        self.lines = []
        self.pending = []
        self.config = None
        self.config_written = False
        self.library = None
        self.cache = None
        self.app = None
        self.backend = None
        self.real_backend = {}
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
        raise RecorderError(message)

    def _report(self, error):
        """Every RecorderError made: the first one is why the run failed."""
        if self.failure is None:
            self.failure = error

    # -- per-thread state -------------------------------------------------------------

    @property
    def stack(self):
        """This thread's contexts, innermost last."""
        stack = getattr(self.local, "stack", None)
        if stack is None:
            stack = self.local.stack = []
        return stack

    @property
    def backend_depth(self):
        """How deep this thread is inside traced backend methods."""
        return getattr(self.local, "backend_depth", 0)

    @backend_depth.setter
    def backend_depth(self, depth):
        self.local.backend_depth = depth

    def _acquire(self, what):
        """Takes the recording lock for a top-level event of this thread."""
        waited = 0.0
        while not self.lock.acquire(timeout=1.0):
            if self.failure is not None:
                raise RecorderError(self.failure.message, located=False)
            waited += 1.0
            if waited >= LOCK_WAIT_SECONDS:
                holder = self.holder
                self.fail("%s in thread %r waited %d s for the cached call of thread %r "
                          "(started%s) to finish. The recorder runs one cached call at a "
                          "time, so a function body that waits for a cached call of another "
                          "thread cannot be recorded"
                          % (what, threading.current_thread().name, waited,
                             holder[0] if holder else "?",
                             (" at %s:%d" % (holder[1]["file"], holder[1]["line"]))
                             if holder and holder[1] else ""))
        if self.failure is not None:
            self.lock.release()
            raise RecorderError(self.failure.message, located=False)

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
            with self.lock:
                self.clock_us += int(round(seconds * 1e6))
            return
        event = self.begin({"tick": seconds})
        self.clock_us += int(round(seconds * 1e6))
        self.end(event, encode.result(None))

    def uuid4(self):
        with self.uuid_lock:
            self.uuid_draws += 1
            draw = self.uuid_draws
        seed = ("flaskcache_recorder uuid4 %d" % draw).encode("ascii")
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
                      "bound to one app (record each Cache's use in a script of its own)")

    def configure(self, library, cache, app, config, backend, backend_name="SimpleCache",
                  key_prefix=None):
        with self.lock:
            self._configure(library, cache, app, config, backend, backend_name, key_prefix)

    def _configure(self, library, cache, app, config, backend, backend_name, key_prefix):
        self.claim(cache)
        if self.config is not None:
            self.fail("Cache.init_app ran a second time (a second app, or the same app "
                      "again); a trace records one Cache bound to one app")
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
        with self.lock:
            return self._declare(kind, body, finish, objects)

    def _declare(self, kind, body, finish, objects):
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
        other = entry if entry is not None and entry[0] is func else self.registry.get(id(f))
        if other is not None and other[1].kind != kind:
            qualname = getattr(f, "__qualname__", repr(f))
            if kind == "memoize":
                self.fail("%s(%s): %s is decorated with @cache.cached, not @cache.memoize. "
                          "Flask-Caching then resets a memoize version key of that name (no "
                          "arguments) or deletes the key that %s.make_cache_key(%s.uncached, "
                          "*args) builds (with arguments); the trace cannot express "
                          "delete_memoized of a @cached function. Use cache.delete_cached(%s) "
                          "(2.5) or cache.delete(key) to remove its entry"
                          % (what, qualname, qualname, qualname, qualname, qualname))
            self.fail("%s(%s): %s is decorated with @cache.memoize, not @cache.cached; the trace "
                      "cannot express that (use cache.delete_memoized)"
                      % (what, qualname, qualname))
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
        """Starts an event of this thread. A top-level event takes the recording lock,
        which `end` or `abort` releases."""
        top = self.top()
        if top is None:
            if self.closed:
                self.fail("a cache call in thread %r came after the script ended and the "
                          "trace was written" % threading.current_thread().name)
            self._acquire("a cache call")
        try:
            self.write_config()
            if "tick" not in command:
                self.check_debug()
            self.events += 1
            event = Event(self.events, self.clock_us, command, self.sites.site(sys._getframe(1)))
            if top is None:
                self.holder = (threading.current_thread().name, event.site)
        except BaseException:
            if top is None:
                self.lock.release()
            raise
        if isinstance(top, Compute):
            top.events.append(event)
        event.parent = top
        self.push(event)
        return event

    def end(self, event, result):
        try:
            self.pop(event)
            event.result = result
            if event.parent is None:
                self.emit(event.to_json())
        finally:
            if event.parent is None:
                self.holder = None
                self.lock.release()

    def abort(self, event):
        """Unwinds this thread's contexts down to `event` (a RecorderError is on its way
        out) and releases the lock if the event was top-level."""
        stack = self.stack
        if event in stack:
            del stack[stack.index(event):]
        if event.parent is None:
            self.holder = None
            self.lock.release()

    def finish(self, event, outcome):
        """Ends `event` with `outcome()` (an encoded result), aborting it when encoding
        fails."""
        try:
            result = outcome()
        except RecorderError:
            self.abort(event)
            raise
        self.end(event, result)

    def run(self, command, fn, args, kwargs):
        """Runs `fn(*args, **kwargs)` as one event with `command`."""
        event = self.begin(command)
        try:
            rv = fn(*args, **kwargs)
        except RecorderError:
            self.abort(event)
            raise
        except BaseException as exc:
            self.finish(event, lambda: encode.raises(exc))
            raise
        self.finish(event, lambda: encode.result(rv))
        return rv

    def step(self, step):
        event = self.innermost_event()
        if event is None:
            self.fail("internal error: a step outside any event")
        event.steps.append(step)

    # -- output -----------------------------------------------------------------------

    def emit(self, record):
        with self.lock:
            self._emit(record)

    def _emit(self, record):
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
        """The trace. Waits for the script's other (non-daemon) threads first, as Python
        does at exit; a daemon thread still inside a cached call stops the run. Cache calls
        made after this are refused."""
        current = threading.current_thread()
        pools = sys.modules.get("concurrent.futures.thread")
        if pools is not None and hasattr(pools, "_python_exit"):
            # What Python runs at exit before joining threads: idle pool workers stop.
            pools._python_exit()
        for thread in threading.enumerate():
            if thread is not current and not thread.daemon and thread is not threading.main_thread():
                thread.join()
        with self.lock:
            self.closed = True
            if self.failure is not None:
                raise RecorderError(self.failure.message, located=False)
            if self.config is None:
                self.fail("the script never bound a Flask-Caching Cache to an app (Cache(app) or "
                          "cache.init_app(app)), so there is nothing to record")
            self.write_config()
            header = json.dumps({"flaskcache_trace": 1})
            text = "".join(line + "\n" for line in [header] + self.lines)
        if encode.ADDRESSES.count:
            sys.stderr.write(
                "flaskcache_recorder: note: %d recorded values show memory addresses (default "
                "reprs such as %s); such a trace differs from run to run, so compare "
                "recordings by replaying them, not byte for byte\n"
                % (encode.ADDRESSES.count, encode.ADDRESSES.example))
        return text
