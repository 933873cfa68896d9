"""`python -m flaskcache_recorder -o OUT.jsonl SCRIPT.py [ARGS...]`."""

import argparse
import os
import sys
import traceback

from . import __version__
from .errors import RecorderError

PROG = "python -m flaskcache_recorder"


def _parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run a Flask script that uses Flask-Caching and write what the cache did "
                    "as a flaskcache trace (JSON Lines, docs/trace-format.md).",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.jsonl",
                        help="where to write the trace")
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    parser.add_argument("script", metavar="SCRIPT.py", nargs="?",
                        help="the script to run, as `python SCRIPT.py` would")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="arguments passed on to the script")
    return parser


def _usage_error(message):
    sys.stderr.write("%s: error: %s\n" % (PROG, message))
    return 2


def main(argv=None):
    """Runs the recorder. Called without `argv` (as `python -m flaskcache_recorder`), it
    re-executes itself with PYTHONHASHSEED=0 when the variable is not set."""
    from_command_line = argv is None
    if argv is None:
        argv = sys.argv[1:]
    parser = _parser()
    options = parser.parse_args(argv)
    script = options.script
    if script is None:
        parser.print_usage(sys.stderr)
        return _usage_error("the following arguments are required: SCRIPT.py")
    if not os.path.isfile(script):
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
        os.execv(sys.executable, [sys.executable, "-m", "flaskcache_recorder"] + list(argv))
    return _run(os.path.abspath(script), options.args, output)


def _run(script, args, output):
    from . import instrument
    from .core import Recorder

    try:
        libraries = instrument.detect_libraries()
    except RecorderError as exc:
        return _usage_error(str(exc))
    rec = Recorder(libraries)
    instrument.install(rec, libraries)

    sys.argv = [script] + list(args)
    sys.path[0] = os.path.dirname(script)
    status = 0
    failure = None
    import runpy

    try:
        runpy.run_path(script, run_name="__main__")
    except RecorderError as exc:
        failure = exc
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:
        etype, value, tb = sys.exc_info()
        first = tb
        while first is not None and first.tb_frame.f_code.co_filename != script:
            first = first.tb_next
        traceback.print_exception(etype, value, first or tb)
        status = 1
    failure = failure or rec.failure
    if failure is None:
        try:
            text = rec.text()
        except RecorderError as exc:
            failure = exc
    if failure is not None:
        sys.stderr.write("%s: error: %s\n%s: no trace written\n" % (PROG, failure, PROG))
        return status or 2
    with open(output, "w", encoding="utf-8", newline="\n") as out:
        out.write(text)
    return status


def _exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write("%s\n" % (code,))
    return 1
