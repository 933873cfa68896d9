"""The one error the recorder raises into the script it runs."""

import sys

# Set by the recorder: maps a frame to the call site of the user's code at or outside it
# (`{"file", "line", "function"}` or None), so that every refusal names the script's line.
locate = None
# Set by the recorder: called with every RecorderError made, so that a refusal in a thread
# whose exception the script never looks at (a worker pool's future) still stops the run.
report = None


class RecorderError(BaseException):
    """The script did something the trace cannot express (or the recorder cannot observe).

    Derived from ``BaseException`` so that neither the script's ``except Exception`` nor
    Flask's or Flask-Caching's error handling swallows it: the run stops, the message is
    printed and the recorder exits with status 2 without writing a trace.

    The message starts with ``FILE:LINE:`` of the script's code that made the refused call
    (when the stack has such a frame), unless ``located`` is false (the message already
    says where).
    """

    def __init__(self, message, located=True):
        if located and locate is not None:
            try:
                site = locate(sys._getframe(1))
            except Exception:  # noqa: BLE001 - the message stays usable without a site
                site = None
            if site is not None:
                message = "%s:%d: %s" % (site["file"], site["line"], message)
        BaseException.__init__(self, message)
        self.message = message
        if report is not None:
            report(self)

    def __str__(self):
        return self.message
