"""Where log records go for the `ops` command, by verbosity (`-v`, `-vv`, `-vvv`).

- 0: warnings and errors of the toolkit, on stderr;
- 1 (`-v`): every step event with the appliance's output (ops.progress), and the toolkit's info;
- 2 (`-vv`): every line of each CLI session as it happens (what was typed, what came back,
  the prompts answered: logger `ops.transcript`), and the toolkit's debug records;
- 3 (`-vvv`): SSH-level debug from asyncssh (key exchange, authentication methods, channels).

Every record is masked when it is made (ops.secrets installs a record factory for the whole
process), and shown inert: an appliance's escape sequences never reach the terminal.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from ops.textsafe import inert

__all__ = ["configure"]

_HANDLER_FLAG = "_ops_console"


class _InertFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return inert(super().format(record))


def configure(verbosity: int, *, quiet: bool = False, stream: TextIO | None = None) -> None:
    """Send the toolkit's records (and asyncssh's at -vvv) to `stream` (stderr). Idempotent."""
    ops_logger = logging.getLogger("ops")
    for handler in list(ops_logger.handlers):
        if getattr(handler, _HANDLER_FLAG, False):
            ops_logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _HANDLER_FLAG, True)
    handler.setFormatter(_InertFormatter("%(name)s: %(levelname)s: %(message)s" if verbosity < 2 else
                                         "%(asctime)s %(name)s: %(message)s"))
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    ops_logger.setLevel(level)
    ops_logger.addHandler(handler)
    ssh_logger = logging.getLogger("asyncssh")
    for old in list(ssh_logger.handlers):
        if getattr(old, _HANDLER_FLAG, False):
            ssh_logger.removeHandler(old)
    if verbosity >= 3:
        import asyncssh

        asyncssh.set_debug_level(2)
        ssh_logger.setLevel(logging.DEBUG)
        ssh_handler = logging.StreamHandler(stream or sys.stderr)
        ssh_handler.setFormatter(_InertFormatter("%(asctime)s %(name)s: %(message)s"))
        setattr(ssh_handler, _HANDLER_FLAG, True)
        ssh_logger.addHandler(ssh_handler)
    else:
        ssh_logger.setLevel(logging.WARNING)


def reset() -> None:
    """Undo `configure` (tests that run the command in-process)."""
    for name in ("ops", "asyncssh"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if getattr(handler, _HANDLER_FLAG, False):
                logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
