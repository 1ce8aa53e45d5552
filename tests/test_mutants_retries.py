"""The connect retries (README, Guarantees: a refused connection is retried with backoff, refused
credentials never), on details the fault matrix leaves open (found by bench/mutation.py): how many
attempts, how long between them, what the transcript and the run's notices say, what is raised.

Most cases replace the transport's `connect` by a stand-in that fails as told and never wait for
real (the backoff sleeps are recorded, not slept); one connects to a loopback port that refuses.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from ops.secrets import Secret
from ops.session import driver as driver_module
from ops.session.driver import Driver, DriverOptions
from ops.session.errors import AuthError, ConnectError, HostKeyError, SessionError
from ops.session.hostkey import HostKeyPolicy
from ops.session.transcript import Transcript
from ops.session.transport import Target
from tests.helpers import run

TARGET = Target("node1", "192.0.2.7", 2222, "admin", Secret("Unused-Pw-77"),
                HostKeyPolicy("fingerprint", fingerprint="SHA256:pin"), connect_timeout=5)


class Script:
    """A stand-in for the transport's `connect`: each attempt takes the next outcome (an error to
    raise, or the connection to return); the backoff sleeps are recorded instead of slept."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.attempts = 0
        self.sleeps: list[float] = []
        monkeypatch.setattr(driver_module, "connect", self.connect)
        monkeypatch.setattr(driver_module.asyncio, "sleep", self.sleep)

    async def connect(self, target: Target) -> object:
        assert target is TARGET
        self.attempts += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def connect(retries: int = 2, backoff: float = 1.0, notices: list[str] | None = None,
            transcript: Transcript | None = None) -> object:
    on_retry = notices.append if notices is not None else None
    driver = Driver(TARGET, transcript or Transcript(), DriverOptions(retries=retries, backoff=backoff),
                    on_retry=on_retry)
    return run(driver._connect())


def refused(n: int) -> ConnectError:
    return ConnectError(f"node1: cannot connect to 192.0.2.7:2222: Connect call failed (try {n})")


def test_transient_failures_are_retried_with_doubling_backoff_until_one_connects(
        monkeypatch: pytest.MonkeyPatch) -> None:
    conn = object()
    script = Script(monkeypatch, refused(1), refused(2), refused(3), conn)
    notices: list[str] = []
    transcript = Transcript()
    assert connect(retries=3, backoff=0.5, notices=notices, transcript=transcript) is conn
    assert script.attempts == 4
    assert script.sleeps == [0.5, 1.0, 2.0]
    assert notices == [f"retrying after: {refused(n)}" for n in (1, 2, 3)]
    text = transcript.text()
    assert "### connecting to 192.0.2.7:2222 as admin\n" in text  # the first attempt is not numbered
    for n in (2, 3, 4):
        assert f"### connecting to 192.0.2.7:2222 as admin (attempt {n} of 4)\n" in text
    assert "attempt 1 of" not in text and "attempt 5" not in text
    for n in (1, 2, 3):
        assert f"### {refused(n)}; retrying\n" in text


def test_the_last_transient_failure_is_raised_when_the_retries_run_out(monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script(monkeypatch, refused(1), refused(2), refused(3))
    notices: list[str] = []
    with pytest.raises(ConnectError, match=r"\(try 3\)"):
        connect(retries=2, notices=notices)
    assert script.attempts == 3 and script.sleeps == [1.0, 2.0]
    assert len(notices) == 2  # no "retrying" after the last attempt


def test_no_retries_means_one_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script(monkeypatch, refused(1), object())
    with pytest.raises(ConnectError):
        connect(retries=0)
    assert script.attempts == 1 and script.sleeps == []


@pytest.mark.parametrize("error", [
    AuthError("node1: authentication failed for user 'admin' at 192.0.2.7:2222"),
    HostKeyError("node1: HOST KEY CHANGED for 192.0.2.7:2222"),
    SessionError("node1: something that is not marked transient"),
], ids=["credentials", "host key", "other"])
def test_what_is_not_transient_is_never_retried(monkeypatch: pytest.MonkeyPatch, error: SessionError) -> None:
    """Refused credentials tried again only lock the account sooner; a changed key stays changed."""
    script = Script(monkeypatch, error, object())
    notices: list[str] = []
    with pytest.raises(type(error)) as info:
        connect(retries=5, notices=notices)
    assert info.value is error
    assert script.attempts == 1 and script.sleeps == [] and notices == []


def test_a_refusal_after_a_transient_failure_stops_the_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = AuthError("node1: authentication failed for user 'admin' at 192.0.2.7:2222")
    script = Script(monkeypatch, refused(1), auth, object())
    with pytest.raises(AuthError):
        connect(retries=5)
    assert script.attempts == 2 and script.sleeps == [1.0]


def test_retries_work_without_anyone_listening_for_notices(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = object()
    script = Script(monkeypatch, refused(1), conn)
    driver = Driver(TARGET, Transcript(), DriverOptions(retries=1, backoff=0.1))
    assert run(driver._connect()) is conn
    assert script.attempts == 2


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_refused_loopback_connection_is_retried_then_fails_naming_the_address(refusing_port: int) -> None:
    target = Target("node1", "127.0.0.1", refusing_port, "admin", Secret("Unused-Pw-77"),
                    HostKeyPolicy("fingerprint", fingerprint="SHA256:pin"), connect_timeout=5)
    notices: list[str] = []
    transcript = Transcript()
    driver = Driver(target, transcript, DriverOptions(retries=2, backoff=0.01), on_retry=notices.append)
    with pytest.raises(ConnectError, match=f"node1: cannot connect to 127.0.0.1:{refusing_port}: .*"):
        run(driver.open())
    assert len(notices) == 2 and all(n.startswith("retrying after: node1: cannot connect") for n in notices)
    assert "(attempt 3 of 3)" in transcript.text()
    assert driver.channel is None
