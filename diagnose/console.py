"""The two consoles: stdout carries the product (the report), stderr the chatter (progress, errors).

Colour follows the terminal and NO_COLOR; width is fixed when output is not a terminal, so piped
and saved reports are the same wherever they are made.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from rich.console import Console

PIPE_WIDTH = 100


def make_console(file: TextIO | None = None, *, stderr: bool = False) -> Console:
    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    return Console(
        file=stream,
        width=None if is_tty else PIPE_WIDTH,
        no_color="NO_COLOR" in os.environ or not is_tty,
        force_terminal=is_tty,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )


def stderr_is_tty() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
