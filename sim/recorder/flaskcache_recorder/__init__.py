"""Record what a Flask app does with Flask-Caching as a flaskcache trace.

Usage: ``python -m flaskcache_recorder -o OUT.jsonl SCRIPT.py [ARGS...]``.
The output format is described in ``docs/trace-format.md``; what is recorded, and how,
in ``docs/recorder.md``.
"""

__version__ = "0.1.0"

TRACE_FORMAT_VERSION = 1
