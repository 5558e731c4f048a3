"""What every ``python -m training.*`` entry point shares: which errors are the user's, and the
command line as the user typed it.

Kept apart from :mod:`training.train` so that :mod:`training.export` (which ``train`` calls at the end
of a run) can use them without importing ``train`` back.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence

from physdis_hub.errors import PhysdisError

USER_ERRORS = (PhysdisError, FileExistsError)
"""Errors reported as one message and exit status 2 (bad input, not a bug): every error physdis-hub
raises on purpose (missing data or weights, a damaged checkpoint, a resume with other settings, an
unknown name) and an occupied run directory."""


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command as a user would type it (for model cards), e.g.
    ``command_line("training.train", ["--out", "runs/a b"])`` -> ``"python -m training.train --out 'runs/a b'"``;
    ``argv`` None: this process's arguments (``sys.argv[1:]``), as a ``main(argv=None)`` parsed them."""
    return " ".join(["python", "-m", module, *(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))])


INTERRUPTED_STATUS = 130
"""Exit status after SIGINT / SIGTERM (128 + SIGINT, the shell's convention for Ctrl-C)."""


def report_interrupt(err: BaseException, out: str) -> int:
    """Print the one line an interrupted entry point ends with; returns :data:`INTERRUPTED_STATUS`.

    Args:
        err: a :class:`training.trainer.TrainingInterrupted` (its message names the checkpoint), or a
            ``KeyboardInterrupt`` that arrived outside a training step (data preparation, export).
        out: the run directory, named when nothing new was saved.
    """
    if isinstance(err, KeyboardInterrupt):
        print(f"interrupted outside a training step: nothing new saved in {out}", file=sys.stderr)
    else:
        print(f"interrupted: {err}", file=sys.stderr)
    return INTERRUPTED_STATUS
