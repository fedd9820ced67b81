"""The one error type finescale shows to users.

Every bad input (a file, a variable, a value) is reported as a single line that names what
is wrong; the CLI prints ``str(err)`` and exits non-zero, the dashboard shows it as a
notification. Anything else that escapes is a bug.
"""

from __future__ import annotations


class FinescaleError(ValueError):
    """A user-facing error whose message names the offending file, variable or value."""
