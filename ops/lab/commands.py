"""The lab appliance's command registry and dispatcher.

A command is a sequence of keywords (`show version active`) bound to an async handler that
gets a `CommandContext` and the remaining words. Handlers live in modules under
`ops/lab/handlers/`, which are all imported by `load_handlers()`; adding a command means adding
a module there, never touching the server.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ops.lab.terminal import Terminal

if TYPE_CHECKING:
    from ops.lab.server import LabAppliance

UNSUCCESSFUL = "Executed command unsuccessfully"


class CommandError(Exception):
    """A command failed: its lines are printed, then (optionally) its syntax, then UNSUCCESSFUL."""

    def __init__(self, *lines: str, syntax: bool = False) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)
        self.syntax = syntax


class QuitSession(Exception):
    """The command asks for the session to end (`quit`, `exit`)."""


@dataclass
class CommandContext:
    """What a handler may use: the session's terminal, the appliance, and the command's usage."""

    term: Terminal
    lab: LabAppliance


def no_args(args: list[str]) -> None:
    """For commands that take no options: the first one given is refused, as the CLI does."""
    if args:
        raise CommandError(f"Invalid option: {args[0]}", syntax=True)


Handler = Callable[[CommandContext, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    """One registered command: its keywords, handler and one-line usage."""

    words: tuple[str, ...]
    handler: Handler
    usage: str

    def syntax_lines(self) -> list[str]:
        return ["Syntax:", f"  {self.usage}"]


class Registry:
    """Maps keyword prefixes to handlers and runs command lines."""

    def __init__(self) -> None:
        self._commands: dict[tuple[str, ...], Command] = {}

    def register(self, words: str, handler: Handler, usage: str | None = None) -> Command:
        key = tuple(words.lower().split())
        cmd = Command(key, handler, usage or " ".join(key))
        self._commands[key] = cmd
        return cmd

    def command(self, words: str, usage: str | None = None) -> Callable[[Handler], Handler]:
        """Decorator form of `register`."""

        def deco(handler: Handler) -> Handler:
            self.register(words, handler, usage)
            return handler

        return deco

    def commands(self) -> list[Command]:
        return [self._commands[k] for k in sorted(self._commands)]

    def lookup(self, words: list[str]) -> tuple[Command | None, list[str]]:
        """The command whose keywords are the longest prefix of `words`, and the words left over."""
        lowered = [w.lower() for w in words]
        for n in range(len(lowered), 0, -1):
            cmd = self._commands.get(tuple(lowered[:n]))
            if cmd is not None:
                return cmd, words[n:]
        return None, words

    def _completions(self, words: list[str]) -> tuple[int, list[Command]]:
        lowered = [w.lower() for w in words]
        for n in range(len(lowered), 0, -1):
            found = [c for c in self.commands() if c.words[:n] == tuple(lowered[:n])]
            if found:
                return n, found
        return 0, []

    async def dispatch(self, ctx: CommandContext, line: str) -> bool:
        """Run one command line; True if it succeeded. Errors are printed, never raised,
        except Interrupted, SessionClosed and QuitSession, which the session loop handles."""
        words = line.split()
        if not words:
            return True
        help_wanted = words[-1] == "?"
        if help_wanted:
            words = words[:-1]
        cmd, args = self.lookup(words)
        if cmd is None or help_wanted:
            return await self._unknown(ctx, words, help_wanted)
        try:
            await cmd.handler(ctx, args)
        except CommandError as exc:
            lines = list(exc.lines)
            if exc.syntax:
                lines += cmd.syntax_lines()
            await ctx.term.page(lines + [UNSUCCESSFUL])
            return False
        return True

    async def _unknown(self, ctx: CommandContext, words: list[str], help_wanted: bool) -> bool:
        matched, candidates = self._completions(words)
        if help_wanted and candidates:
            await ctx.term.page(["Syntax:"] + [f"  {c.usage}" for c in candidates])
            return True
        bad = words[matched] if matched < len(words) else " ".join(words)
        lines = [f"Invalid command: {bad}"]
        if matched and candidates:
            lines += ["Syntax:"] + [f"  {c.usage}" for c in candidates]
        await ctx.term.page(lines + [UNSUCCESSFUL])
        return False


REGISTRY = Registry()
command = REGISTRY.command


def load_handlers() -> Registry:
    """Import every module in `ops.lab.handlers` (each registers its commands) and return REGISTRY."""
    from ops.lab import handlers

    for info in pkgutil.iter_modules(handlers.__path__):
        importlib.import_module(f"{handlers.__name__}.{info.name}")
    return REGISTRY
