"""The session driver: transport, then login, then an `on_open` step, as scrapli's `Driver.open()`.

`Driver.open()` connects (retrying what is transient: refused, reset, timed out, never refused
credentials), opens the interactive shell, and logs in on the channel (waits out the banner,
synchronizes, turns paging off). The runner asks for a channel and never sees the steps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import asyncssh

from ops.session.channel import VOSChannel
from ops.session.errors import SessionError
from ops.session.transcript import Transcript
from ops.session.transport import Target, connect, open_shell

__all__ = ["Driver", "DriverOptions"]


@dataclass(frozen=True)
class DriverOptions:
    retries: int = 2  # more connection attempts after the first, for transient failures only
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    timeout: float = 60.0  # the channel's silence timeout
    login_timeout: float | None = None  # banner to first prompt (default: `timeout`)
    settle: float = 0.5  # quiet after the first prompt before anything is typed (VOSChannel)


class Driver:
    """One host's CLI session: `await open()` gives the logged-in channel, `await close()` ends it."""

    def __init__(self, target: Target, transcript: Transcript, options: DriverOptions, *,
                 on_retry: Callable[[str], None] | None = None) -> None:
        self.target = target
        self.transcript = transcript
        self.options = options
        self._on_retry = on_retry or (lambda text: None)
        self._conn: asyncssh.SSHClientConnection | None = None
        self.channel: VOSChannel | None = None

    async def open(self) -> VOSChannel:
        if self.channel is not None:
            return self.channel
        self._conn = await self._connect()
        reader, writer = await open_shell(self._conn)
        channel = VOSChannel(reader, writer, self.target.username, transcript=self.transcript,
                             timeout=self.options.timeout, host=self.target.name, settle=self.options.settle)
        await channel.login(timeout=self.options.login_timeout or self.options.timeout)
        self.channel = channel
        return channel

    async def _connect(self) -> asyncssh.SSHClientConnection:
        """Transient failures before any command ran (refused, reset, timeout) are retried with backoff."""
        target, attempts = self.target, self.options.retries + 1
        for attempt in range(1, attempts + 1):
            self.transcript.note(f"connecting to {target.address}:{target.port} as {target.username}"
                                 + (f" (attempt {attempt} of {attempts})" if attempt > 1 else ""))
            try:
                return await connect(target)
            except SessionError as exc:
                if not exc.transient or attempt == attempts:
                    raise
                self.transcript.note(f"{exc}; retrying")
                self._on_retry(f"retrying after: {exc}")
                await asyncio.sleep(self.options.backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """`quit` at a synchronized prompt (nothing if the session was lost), then the connection."""
        if self.channel is not None:
            with contextlib.suppress(Exception):
                await self.channel.close()
        if self._conn is not None:
            self._conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.wait_closed(), 5)
