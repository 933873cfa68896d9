"""A pytest plugin that records a test suite's use of Flask-Caching::

    python -m pytest -p flaskcache_recorder.pytest_plugin --flaskcache-trace OUT.jsonl ...

(or the same options in ``PYTEST_ADDOPTS``). Every `Cache` bound to every app the suite
creates (app factories, fixtures, one app per test) is recorded, one trace per binding:
``OUT.001.jsonl``, ``OUT.002.jsonl``, ... written when the session finishes.

Importing this module installs the instrumentation. pytest imports ``-p`` plugins while it
reads its command line, before it imports anything of the project: before conftest files,
and before the modules that ``-W`` / ``filterwarnings`` filters name (pytest imports a
warning class such as ``-W error::myapp.errors.AppWarning``, and so the app's package,
just before it loads the initial conftests). The plugin is therefore not registered as an
entry point: loading it means recording, and it is loaded only when asked for.

The suite runs as it would without the plugin: same tests, same outcomes, same exit
status. When something cannot be recorded, the test that did it fails with the
recorder's message, the session stops after that test, no trace is written and the exit
status is pytest's (2 when that would be 0).
"""

import os
import sys

import pytest

from . import cli
from .errors import RecorderError

PLUGIN = "flaskcache_recorder.pytest_plugin"

_state = {"item": None, "output": None, "session": None, "written": None, "failure": None,
          "done": False}


def _current_test():
    return _state["item"]


try:
    RECORDING = cli.start_recording(label=_current_test)
    SETUP_ERROR = None
except RecorderError as exc:
    RECORDING = None
    SETUP_ERROR = exc


def pytest_addoption(parser):
    group = parser.getgroup("flaskcache", "recording Flask-Caching traces (flaskcache_recorder)")
    group.addoption(
        "--flaskcache-trace", dest="flaskcache_trace", metavar="OUT.jsonl",
        help="write what the suite did with Flask-Caching as flaskcache traces, one per "
             "Cache bound to an app: OUT.001.jsonl, OUT.002.jsonl, ... (earlier files of "
             "that form are removed)")


def pytest_configure(config):
    if getattr(config.option, "help", False):
        return
    if hasattr(config, "workerinput"):
        raise pytest.UsageError("%s cannot record in pytest-xdist workers; run the suite "
                                "without -n" % PLUGIN)
    if SETUP_ERROR is not None:
        raise pytest.UsageError("%s: %s" % (PLUGIN, SETUP_ERROR))
    output = config.getoption("flaskcache_trace")
    if not output:
        raise pytest.UsageError("%s records the run: say where with --flaskcache-trace "
                                "OUT.jsonl" % PLUGIN)
    output = os.path.join(str(config.invocation_params.dir), output)
    if os.path.isdir(output):
        raise pytest.UsageError("--flaskcache-trace %s is a directory" % output)
    if not os.path.isdir(os.path.dirname(output)):
        raise pytest.UsageError("--flaskcache-trace %s: the directory does not exist" % output)
    _state["output"] = output


def pytest_sessionstart(session):
    _state["session"] = session


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _state["item"] = item.nodeid
    try:
        yield
    finally:
        _state["item"] = None


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    _state["item"] = "the collection of %s" % (collector.nodeid or "the session")
    try:
        yield
    finally:
        _state["item"] = None


def pytest_runtest_logreport(report):
    session = _state["session"]
    if RECORDING is not None and RECORDING.failure is not None and session is not None \
            and not session.shouldstop:
        session.shouldstop = ("flaskcache_recorder: the recording failed in %s (no trace "
                              "will be written): %s" % (report.nodeid, RECORDING.failure))


def _write():
    """Writes the traces (once). Returns the failure, or None."""
    if _state["done"] or _state["output"] is None or RECORDING is None:
        return _state["failure"]
    _state["done"] = True
    written, failure = RECORDING.write(_state["output"])
    _state["written"] = written
    _state["failure"] = failure
    return failure


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    # trylast: after pytest's own sessionfinish tore the session-scoped fixtures down (their
    # cache calls are recorded too).
    if _write() is not None:
        session.exitstatus = int(exitstatus) or 2


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _state["output"] is None:
        return
    tr = terminalreporter
    if _state["failure"] is not None:
        tr.write_line("flaskcache_recorder: error: %s" % _state["failure"], red=True)
        tr.write_line("flaskcache_recorder: no trace written", red=True)
        return
    written = _state["written"] or []
    tr.write_line("flaskcache_recorder: " + cli.describe_written(written) if written else
                  "flaskcache_recorder: no trace written")
    if config.option.verbose > 0:
        for w in written:
            tr.write_line("  %s: %d events, %s" % (cli.shown_path(w.path), w.events,
                                                   w.binding.describe()))
    if "PYTHONHASHSEED" not in os.environ:
        tr.write_line("flaskcache_recorder: note: PYTHONHASHSEED is not set, so reprs of sets "
                      "of str in the traces differ from run to run (set PYTHONHASHSEED=0)")


def pytest_unconfigure(config):
    # The session did not finish normally (it may not have started): write what there is.
    if _state["output"] is not None and not _state["done"]:
        failure = _write()
        if failure is not None:
            sys.stderr.write("flaskcache_recorder: error: %s\nflaskcache_recorder: no trace "
                             "written\n" % failure)
