"""The one error the recorder raises into the script it runs."""


class RecorderError(BaseException):
    """The script did something the trace cannot express (or the recorder cannot observe).

    Derived from ``BaseException`` so that neither the script's ``except Exception`` nor
    Flask's or Flask-Caching's error handling swallows it: the run stops, the message is
    printed and the recorder exits with status 2 without writing a trace.
    """

    def __init__(self, message):
        BaseException.__init__(self, message)
        self.message = message

    def __str__(self):
        return self.message
