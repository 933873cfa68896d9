"""The command line, and the recording of a whole run with many apps.

- ``python -m flaskcache_recorder -o OUT.jsonl SCRIPT.py [ARGS...]`` records a script: one
  `Cache` bound to one app, one trace (`core.Recorder`).
- ``python -m flaskcache_recorder -o OUT.jsonl -m MODULE [ARGS...]`` runs a module as
  ``python -m MODULE ARGS...`` would (``-m pytest`` runs a test suite) and records every
  `Cache` bound to every app the run creates, one trace per binding (`SuiteRecorder`).
  The pytest plugin (`pytest_plugin.py`) records a test suite the same way.
"""

import argparse
import copy
import glob
import os
import sys
import traceback

from . import __version__, encode, errors
from .core import Compute, Declaration, Event, Hook, Recorder
from .errors import RecorderError

PROG = "python -m flaskcache_recorder"


def _parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run a Flask script (or a module such as pytest) that uses Flask-Caching "
                    "and write what the cache did as flaskcache traces (JSON Lines, "
                    "docs/trace-format.md).",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.jsonl",
                        help="where to write the trace (with -m: OUT.001.jsonl, OUT.002.jsonl, "
                             "..., one per Cache bound to an app)")
    parser.add_argument("-m", dest="module", metavar="MODULE",
                        help="run library module MODULE as `python -m MODULE ARGS...` would "
                             "(e.g. -m pytest); the rest of the command line is its ARGS")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    parser.add_argument("script", metavar="SCRIPT.py", nargs="?",
                        help="the script to run, as `python SCRIPT.py` would")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="arguments passed on to the script or module")
    return parser


def _usage_error(message):
    sys.stderr.write("%s: error: %s\n" % (PROG, message))
    return 2


def split_module(argv):
    """`(recorder_argv, module, module_argv)` when `argv` runs a module (`-m MODULE ...`
    before any script name), else `(argv, None, None)`. Everything after `-m MODULE`
    belongs to the module, as with `python -m`."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            break
        if arg in ("-o", "--output"):
            i += 2
            continue
        if arg == "-m":
            if i + 1 >= len(argv):
                return argv, None, None  # argparse reports the missing MODULE
            return argv[:i], argv[i + 1], argv[i + 2:]
        if arg.startswith("-m"):
            return argv[:i], arg[2:], argv[i + 1:]
        if not arg.startswith("-") or arg == "-":
            break
        i += 1
    return argv, None, None


def main(argv=None):
    """Runs the recorder. Called without `argv` (as `python -m flaskcache_recorder`), it
    re-executes itself with PYTHONHASHSEED=0 when the variable is not set."""
    from_command_line = argv is None
    if argv is None:
        argv = sys.argv[1:]
    argv = list(argv)
    own, module, module_args = split_module(argv)
    parser = _parser()
    options = parser.parse_args(own)
    if module is None and options.module is not None:
        # `-m` given as the last argument, or in a form split_module does not know.
        module, module_args = options.module, list(options.args)
    script = options.script
    if module is None and script is None:
        parser.print_usage(sys.stderr)
        return _usage_error("the following arguments are required: SCRIPT.py (or -m MODULE)")
    if module is not None and script is not None:
        return _usage_error("give a SCRIPT.py or -m MODULE, not both")
    if module is not None and not module:
        return _usage_error("argument -m: expected a module name")
    if script is not None and not os.path.isfile(script):
        return _usage_error("script not found: %s" % script)
    output = os.path.abspath(options.output)
    if os.path.isdir(output):
        return _usage_error("output %s is a directory" % options.output)
    if not os.path.isdir(os.path.dirname(output)):
        return _usage_error("the directory of %s does not exist" % options.output)
    if from_command_line and "PYTHONHASHSEED" not in os.environ:
        # Set and frozenset reprs of str depend on the hash seed; a fixed seed makes the
        # same script give the same trace on every run.
        os.environ["PYTHONHASHSEED"] = "0"
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "flaskcache_recorder"] + argv)
    if module is not None:
        return _run_module(module, module_args, output)
    return _run(os.path.abspath(script), options.args, output)


def _run(script, args, output):
    """Runs `script` with every Cache binding of the run recorded. One binding (the usual
    script) is written to `output` itself; several (more than one `Cache`, or apps) are
    written one trace per binding, `OUT.001.jsonl`, `OUT.002.jsonl`, ..., as with `-m`."""
    import runpy

    try:
        recording = start_recording()
    except RecorderError as exc:
        return _usage_error(str(exc))
    sys.argv = [script] + list(args)
    sys.path[0] = os.path.dirname(script)
    status = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except RecorderError:
        pass  # the recording's failure: exit 2, no trace
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:
        etype, value, tb = sys.exc_info()
        first = tb
        while first is not None and first.tb_frame.f_code.co_filename != script:
            first = first.tb_next
        traceback.print_exception(etype, value, first or tb)
        status = 1
    sys.stdout.flush()
    written, failure = recording.write(output)
    if failure is not None:
        sys.stderr.write("%s: error: %s\n%s: no trace written\n" % (PROG, failure, PROG))
        return status or 2
    if len(written) == 1:
        os.replace(written[0].path, output)
        return status
    sys.stderr.write("%s: %s\n" % (PROG, describe_written(written)))
    return status


def _exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return int(code)
    sys.stderr.write("%s\n" % (code,))
    return 1


# ------------------------------------------------------------------------------------------
# Module mode: `-m MODULE`.
# ------------------------------------------------------------------------------------------


def _run_module(module, args, output):
    """Runs `module` as `python -m module args...` would, with every Cache binding of the
    run recorded, and writes one trace per binding. Returns the module's exit status (2,
    or the module's status when it is not 0, when the recording failed)."""
    import importlib.util
    import runpy

    try:
        recording = start_recording()
    except RecorderError as exc:
        return _usage_error(str(exc))
    # Finding the module imports its parent packages: after the instrumentation, so that a
    # package's own caching is recorded too.
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        return _usage_error("cannot run module %s: %s" % (module, exc))
    if spec is None:
        return _usage_error("no module named %s" % module)

    # As `python -m`: sys.argv[0] becomes the module's file (run_module sets it) and
    # sys.path[0] stays the current directory, as it is for `python -m flaskcache_recorder`.
    sys.argv = [module] + list(args)
    status = 0
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except RecorderError:
        status = 1
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:
        etype, value, tb = sys.exc_info()
        first = tb
        here = (os.path.abspath(__file__), os.path.abspath(runpy.__file__))
        while first is not None and os.path.abspath(first.tb_frame.f_code.co_filename) in here:
            first = first.tb_next
        traceback.print_exception(etype, value, first or tb)
        status = 1
    sys.stdout.flush()
    written, failure = recording.write(output)
    if failure is not None:
        sys.stderr.write("%s: error: %s\n%s: no trace written\n" % (PROG, failure, PROG))
        return status or 2
    sys.stderr.write("%s: %s\n" % (PROG, describe_written(written)))
    return status


def describe_written(written):
    """One line saying which trace files a run wrote."""
    paths = [shown_path(w.path) for w in written]
    if len(paths) == 1:
        return "wrote 1 trace (one Cache bound to one app): %s" % paths[0]
    return "wrote %d traces, one per Cache bound to an app: %s ... %s" % (
        len(paths), paths[0], paths[-1])


def shown_path(path):
    """`path` relative to the current directory when it is inside it, else absolute."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


# ------------------------------------------------------------------------------------------
# Recording many apps: one trace per Cache bound to an app.
# ------------------------------------------------------------------------------------------


class Binding(object):
    """One `Cache` bound to one app (one `init_app`): one backend object, one trace.

    `recorder` is an ordinary `core.Recorder` that holds this binding's configuration,
    declarations and events; the `SuiteRecorder` routes each event to it."""

    def __init__(self, number, recorder, cache, app, backend, where):
        self.number = number
        self.recorder = recorder
        self.cache = cache
        self.app = app
        self.backend = backend
        self.where = where

    def describe(self):
        name = getattr(self.app, "name", None) or "?"
        return "app %r bound %s" % (name, self.where or "(no call site)")


class Written(object):
    """A trace file the run wrote."""

    def __init__(self, path, binding):
        self.path = path
        self.binding = binding
        self.events = binding.recorder.events


class SuiteRecorder(Recorder):
    """Records a run that binds any number of `Cache` objects to any number of apps (an
    app factory called by every test, fixtures, several `Cache` objects).

    A trace describes one `Cache` bound to one app, so each binding (each `init_app`) gets
    a trace of its own, kept by a `core.Recorder` of its own (a `Binding`). The
    instrumentation talks to this object, which shares the clock, the versions, the
    contexts of each thread and the recording lock with every binding, and routes:

    - an event to the binding whose backend Flask-Caching uses for it: the backend of the
      `Cache` called (for a decorated function, the `Cache` that decorated it) in the
      current app, else in the app the `Cache` was bound to last (`Cache.cache`, the
      library's own rule). A backend method called directly is routed by its backend.
      A call inside a function body that uses the body's backend is a nested event there;
      one that uses another backend is a top-level event of that backend's binding;
    - a declaration (`@cache.memoize`, `@cache.cached`) to every binding of its `Cache`,
      those made so far and those made later, each with the same id;
    - a `time.sleep` to the binding each `Cache` would use now (within a function body: to
      that call's binding).

    After the first refusal (a `RecorderError`) the run goes on unrecorded: the calls are
    passed through to the library and nothing more is kept.
    """

    def __init__(self, libraries, label=None):
        Recorder.__init__(self, libraries)
        self.bindings = []
        self.label = label
        self._by_backend = {}
        self._caches = []  # (cache, [declarations]) in the order the caches were first seen

    # -- attributes the instrumentation reads ------------------------------------------
    # They belong to a binding; `Recorder.__init__` assigns them, hence the setters.

    def _current_binding(self):
        """The binding the call in progress belongs to, as far as it is known yet."""
        writing = getattr(self.local, "suite_writing", None)
        if writing is not None:
            return writing
        hints = self._backend_hints()
        if hints:
            return self._by_backend.get(id(hints[-1]))
        event = self.innermost_event()
        if event is not None and getattr(event, "suite_binding", None) is not None:
            return event.suite_binding
        cache = getattr(self.local, "suite_cache_hint", None)
        return self._resolve(cache) if cache is not None else None

    @property
    def backend(self):
        if self.failure is not None:
            return _UNRECORDED_BACKEND  # calls pass through to the library unrecorded
        binding = self._current_binding()
        return binding.backend if binding is not None else None

    @backend.setter
    def backend(self, value):
        pass

    @property
    def real_backend(self):
        binding = self._current_binding() or (self.bindings[-1] if self.bindings else None)
        return binding.recorder.real_backend if binding is not None else self._spare_backend

    @real_backend.setter
    def real_backend(self, value):
        self._spare_backend = value

    @property
    def config_hash(self):
        binding = self._current_binding()
        return binding.recorder.config_hash if binding is not None else None

    @config_hash.setter
    def config_hash(self, value):
        pass

    @property
    def config_source_check(self):
        binding = self._current_binding()
        return binding.recorder.config_source_check if binding is not None else False

    @config_source_check.setter
    def config_source_check(self, value):
        pass

    # -- hints: which Cache or backend the next event is about --------------------------

    def _backend_hints(self):
        hints = getattr(self.local, "suite_backend_hints", None)
        if hints is None:
            hints = self.local.suite_backend_hints = []
        return hints

    def claim(self, cache):
        # Any number of Cache objects is fine; remember which one is being called.
        self.local.suite_cache_hint = cache
        self._known(cache)

    def check_attributes(self, decl):
        self.local.suite_decl_hint = decl
        Recorder.check_attributes(self, decl)

    def hinting(self, backend, method):
        """`method` of `backend`, telling the recorder which backend it runs on."""
        def hinted(*args, **kwargs):
            hints = self._backend_hints()
            hints.append(backend)
            try:
                return method(*args, **kwargs)
            finally:
                hints.pop()

        hinted.__name__ = getattr(method, "__name__", "backend_method")
        return hinted

    def _known(self, cache):
        for known, decls in self._caches:
            if known is cache:
                return decls
        decls = []
        self._caches.append((cache, decls))
        return decls

    def _resolve(self, cache):
        """The binding whose backend Flask-Caching uses for `cache` now, or None."""
        try:
            backend = cache.cache
        except Exception:  # noqa: BLE001 - no app, or an app this Cache is not bound to
            return None
        binding = self._by_backend.get(id(backend))
        if binding is None or binding.backend is not backend:
            return None
        return binding

    def _route(self, command, parent=None):
        """The binding of an event with `command` that starts now; `parent` is the
        binding of the event in progress, if any, used when the call cannot tell."""
        hints = self._backend_hints()
        if hints:
            binding = self._by_backend.get(id(hints[-1]))
            if binding is None:
                self.fail("internal error: a backend that no Cache.init_app set up")
            return binding
        if "call" in command or "request" in command:
            decl = getattr(self.local, "suite_decl_hint", None)
            cache = getattr(decl, "suite_cache", None)
        else:
            cache = getattr(self.local, "suite_cache_hint", None)
        if cache is None and parent is None:
            if len(self._caches) != 1:
                self.fail("internal error: cannot tell which Cache a call is for")
            cache = self._caches[0][0]
        binding = self._resolve(cache) if cache is not None else None
        if binding is None and parent is not None:
            return parent
        if binding is None:
            if not self.bindings:
                self.fail("a cache call happened before Cache.init_app bound the Cache to an app")
            self.fail("a cache call of a Cache that is bound to no app here: outside an app "
                      "context the Cache must have been bound (init_app) to an app, inside "
                      "one to the current app")
        return binding

    def _clear_hints(self):
        self.local.suite_cache_hint = None
        self.local.suite_decl_hint = None

    # -- calls into a binding's recorder --------------------------------------------------

    def _in(self, binding, fn, *args, **kwargs):
        """Calls `fn` (a method of `binding.recorder`) with the shared clock, and with the
        configuration-dependent attributes read from that binding."""
        binding.recorder.clock_us = self.clock_us
        previous = getattr(self.local, "suite_writing", None)
        self.local.suite_writing = binding
        try:
            return fn(*args, **kwargs)
        except RecorderError as exc:
            self._report(exc)
            raise
        finally:
            self.local.suite_writing = previous

    def _new_recorder(self):
        sub = Recorder(self.libraries)
        # One set of contexts per thread, one lock and one call-site finder for all.
        sub.local = self.local
        sub.lock = self.lock
        sub.sites = self.sites
        # Recorder() points the error hooks at itself; refusals are this recorder's.
        errors.locate = self.sites.site
        errors.report = self._report
        return sub

    # -- configuration and declarations -------------------------------------------------

    def configure(self, library, cache, app, config, backend, *args, **kwargs):
        if self.failure is not None:
            return
        with self.lock:
            sub = self._new_recorder()
            site = self.sites.site(sys._getframe(1))
            where = "at %s:%d" % (site["file"], site["line"]) if site else None
            label = self.label() if self.label is not None else None
            if label:
                where = "in %s" % label + (" (%s)" % where if where else "")
            binding = Binding(len(self.bindings) + 1, sub, cache, app, backend, where)
            self._in(binding, sub.configure, library, cache, app, config, backend, *args, **kwargs)
            self.bindings.append(binding)
            self._by_backend[id(backend)] = binding
            for decl in self._known(cache):
                self._declare_in(binding, decl)

    def declare(self, kind, body, finish, objects):
        with self.lock:
            cache = getattr(self.local, "suite_cache_hint", None)
            if cache is None:
                self.fail("internal error: a declaration of no Cache")
            decls = self._known(cache)
            ident = ("m%d" if kind == "memoize" else "c%d") % (
                1 + sum(1 for d in decls if d.kind == kind))
            decl = Declaration(kind, ident, dict([("id", ident)] + list(body.items())), finish)
            decl.suite_cache = cache
            decl.suite_body = body
            decl.suite_finish = finish
            decls.append(decl)
            for obj in objects:
                self.registry[id(obj)] = (obj, decl)
            if self.failure is None:
                for binding in self.bindings:
                    if binding.cache is cache:
                        self._declare_in(binding, decl)
            return decl

    def _declare_in(self, binding, decl):
        # Each binding gets its own copy: `finish` completes the options from the binding's
        # configuration (CACHE_HASH_METHOD, CACHE_SOURCE_CHECK).
        sub = binding.recorder
        copied = self._in(binding, sub.declare, decl.kind, copy.deepcopy(decl.suite_body),
                          decl.suite_finish, [])
        if copied.id != decl.id:
            self.fail("internal error: declaration %s is %s in trace %d"
                      % (decl.id, copied.id, binding.number))

    # -- contexts and events ------------------------------------------------------------

    def top(self):
        return None if self.failure is not None else Recorder.top(self)

    def innermost_event(self):
        return None if self.failure is not None else Recorder.innermost_event(self)

    def push(self, ctx):
        if self.failure is None:
            Recorder.push(self, ctx)

    def pop(self, ctx):
        if self.failure is None:
            Recorder.pop(self, ctx)

    def begin(self, command):
        if self.failure is not None:
            return _unrecorded(self.clock_us, command)
        parent = self.innermost_event()
        binding = self._route(command, parent.suite_binding if parent is not None else None)
        self._clear_hints()
        sub = binding.recorder
        # Flask-Caching reads `debug` from the app the Cache was bound to last.
        sub.app = getattr(binding.cache, "app", None) or binding.app
        if parent is None or binding is parent.suite_binding:
            event = self._in(binding, sub.begin, command)
            event.suite_binding = binding
            return event
        # A call inside a function body that uses another backend (another Cache, or
        # another app's): that backend sees it as a call of its own, so it is a top-level
        # event of that backend's trace, with this thread's contexts set aside until it
        # ends (the body's trace does not see it, as its backend does not).
        saved = self.stack
        self.local.stack = []
        try:
            event = self._in(binding, sub.begin, command)
        except BaseException:
            self.local.stack = saved
            raise
        event.suite_binding = binding
        event.suite_saved_stack = saved
        return event

    def end(self, event, result):
        binding = getattr(event, "suite_binding", None)
        if binding is None or self.failure is not None:
            if binding is not None:
                self._release(event)
                self._restore(event)
            return
        try:
            self._in(binding, binding.recorder.end, event, result)
        finally:
            self._restore(event)

    def abort(self, event):
        binding = getattr(event, "suite_binding", None)
        if binding is not None:
            try:
                Recorder.abort(binding.recorder, event)
            finally:
                self._restore(event)

    def _restore(self, event):
        """Puts back the contexts set aside for a call of another backend."""
        saved = getattr(event, "suite_saved_stack", None)
        if saved is not None:
            self.local.stack = saved
            event.suite_saved_stack = None

    def _release(self, event):
        """Lets go of the lock a top-level event took, after recording stopped."""
        if event.parent is None:
            try:
                self.lock.release()
            except RuntimeError:
                pass

    def step(self, step):
        if self.failure is not None:
            return
        hints = self._backend_hints()
        event = self.innermost_event()
        if hints and event is not None and "store" in step \
                and event.suite_binding.backend is not hints[-1]:
            self.fail("internal error: a cached call recorded in trace %d used the backend of "
                      "another trace" % event.suite_binding.number)
        Recorder.step(self, step)

    def minted(self, version):
        if self.failure is None:
            Recorder.minted(self, version)

    def sleep(self, seconds):
        seconds = float(seconds)
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        if self.failure is None:
            top = self.top()
            if isinstance(top, (Event, Hook)):
                self.fail("time.sleep(%r) inside a hook or key callback of a cached call "
                          "cannot be recorded" % seconds)
            for binding in self._tick_targets(top):
                sub = binding.recorder
                event = self._in(binding, sub.begin, {"tick": seconds})
                event.suite_binding = binding
                self._in(binding, sub.end, event, encode.result(None))
        with self.lock:
            self.clock_us += int(round(seconds * 1e6))

    def _tick_targets(self, top):
        if isinstance(top, Compute):
            return [top.event.suite_binding]
        targets = []
        for cache, _ in self._caches:
            binding = self._resolve(cache)
            if binding is not None and binding not in targets:
                targets.append(binding)
        return targets

    # -- output -------------------------------------------------------------------------

    def text(self):
        self.fail("internal error: a run with many apps has one trace per app (use write)")

    def write(self, output):
        """Writes one trace per binding: `OUT.jsonl` -> `OUT.001.jsonl`, `OUT.002.jsonl`,
        ... (earlier files of that form are removed first). Returns `(written, failure)`:
        the `Written` files, or the `RecorderError` that stopped the recording (nothing is
        written then)."""
        texts = []
        if self.failure is None and not self.bindings:
            self._report(RecorderError(
                "the run never bound a Flask-Caching Cache to an app (Cache(app) or "
                "cache.init_app(app)), so there is nothing to record", located=False))
        if self.failure is None:
            addresses = encode.ADDRESSES.count
            for binding in self.bindings:
                # Each binding's text() would print the note on memory addresses.
                encode.ADDRESSES.count = 0
                try:
                    texts.append(self._in(binding, binding.recorder.text))
                except RecorderError:
                    break
            encode.ADDRESSES.count = addresses
        if self.failure is not None:
            return [], self.failure
        if addresses:
            sys.stderr.write(
                "flaskcache_recorder: note: %d recorded values show memory addresses (default "
                "reprs such as %s); such traces differ from run to run, so compare recordings "
                "by replaying them, not byte for byte\n"
                % (addresses, encode.ADDRESSES.example))
        stem = output[:-len(".jsonl")] if output.endswith(".jsonl") else output
        for old in glob.glob(glob.escape(stem) + ".*.jsonl"):
            middle = old[len(stem) + 1:-len(".jsonl")]
            if middle.isdigit():
                os.remove(old)
        written = []
        for binding, text in zip(self.bindings, texts):
            path = "%s.%03d.jsonl" % (stem, binding.number)
            with open(path, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
            written.append(Written(path, binding))
        return written, None


def _unrecorded(at, command):
    """An event after recording stopped: passed through, never written."""
    event = Event(0, at, command)
    event.suite_binding = None
    return event


# What `SuiteRecorder.backend` says after recording stopped (anything but None).
_UNRECORDED_BACKEND = object()

_RECORDING = []


def start_recording(label=None):
    """Installs the instrumentation for a run with many apps and returns its
    `SuiteRecorder`. `label()`, when given, names where the run is (e.g. the test in
    progress) for each new binding. Raises RecorderError when no supported library is
    importable, or when this process is already being recorded."""
    from . import instrument

    if _RECORDING:
        raise RecorderError("this process is already being recorded (python -m "
                            "flaskcache_recorder and the pytest plugin are two ways to do "
                            "the same: use one)", located=False)
    libraries = instrument.detect_libraries()
    rec = SuiteRecorder(libraries, label)
    instrument.install(rec, libraries)
    real_instrument_backend = getattr(instrument, "instrument_backend", None)
    if real_instrument_backend is not None:
        def instrument_backend(recorder, backend):
            # Run with the backend as the hint, so that what the instrumentation keeps
            # about the backend's methods goes to this backend's binding.
            rec.hinting(backend, real_instrument_backend)(recorder, backend)
            for name in instrument.BACKEND_METHODS:
                setattr(backend, name, rec.hinting(backend, getattr(backend, name)))

        instrument.instrument_backend = instrument_backend
    _RECORDING.append(rec)
    return rec
