"""The root of every error Vigil reports to a person as one line (CLI) or a 4xx (web).

Anything that is not a ``VigilError`` is a bug: it is logged with its traceback and shown only as
a generic error with a request id.
"""


class VigilError(Exception):
    """An expected, explainable failure whose message is safe and useful to show."""
