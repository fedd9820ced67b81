"""How shipped files record the command that made them."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import PurePosixPath


def portable_command(argv: Sequence[str]) -> str:
    """The command line as shipped files record it: ``finescale ARGS`` with every absolute
    path cut to ``.../`` and its last part (``--out /tmp/evidence`` → ``--out .../evidence``), so
    that no file carries a path of the machine that made it."""
    def cut(arg: str) -> str:
        if arg.startswith("/") and len(arg) > 1:
            return ".../" + PurePosixPath(arg).name
        return arg

    return "finescale " + shlex.join(cut(a) for a in argv)
