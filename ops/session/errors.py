"""Errors raised by the session layer; each names the operation that failed."""

from __future__ import annotations


class SessionError(Exception):
    """Base of every session-layer failure. `transient` marks errors worth a retry."""

    transient: bool = False


class ConnectError(SessionError):
    """The TCP connection or SSH handshake failed before any command ran."""

    transient = True


class AuthError(SessionError):
    """The appliance refused the credentials."""


class HostKeyError(SessionError):
    """The appliance's host key is unknown, changed, or does not match the pinned fingerprint."""


class ChannelTimeout(SessionError):
    """Nothing the channel waited for arrived in time."""


class ChannelClosed(SessionError):
    """The appliance closed the session."""


class CommandFailed(SessionError):
    """The appliance printed `Executed command unsuccessfully` (or an equivalent)."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class LostTrack(SessionError):
    """The session is not where the channel expected it (an extra prompt, an echo that is not ours,
    output while idle): nothing more is typed into it."""
