"""Genesys Web Services (GWS) API v2 client: version, the signed-in user, voice channel operations.

GWS operations are asynchronous: `{"statusCode": 0}` only says the request reached T-Server,
not that the state changed (seed 002). `voice_operation` therefore sends the operation and then
polls the user's voice channel until its state is the expected one or the timeout passes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ops.rest.http import RestClient, RestError, RestParseError
from ops.secrets import Secret

VERSION = "/api/v2/diagnostics/version"
ME = "/api/v2/me"
CHANNELS = "/api/v2/me/channels"
VOICE = "/api/v2/me/channels/voice"

# operationName -> the voice channel userState.state it should lead to.
OPERATION_STATES = {"Ready": "Ready", "NotReady": "NotReady"}


class GWSError(RestError):
    """GWS answered, but with a non-zero statusCode or not the change asked for."""


@dataclass
class VoiceResult:
    operation: str
    expected_state: str
    state: str | None
    previous_state: str | None
    status_code: int
    waited_s: float


def _status(body: Any, what: str) -> int:
    if not isinstance(body, dict) or not isinstance(body.get("statusCode"), int):
        raise RestParseError(f"{what}: expected a JSON object with an integer statusCode, got {str(body)[:80]!r}")
    code = int(body["statusCode"])
    if code != 0:
        message = body.get("statusMessage") or "no statusMessage"
        raise GWSError(f"{what}: statusCode {code}: {message}")
    return code


class GWSClient:
    def __init__(self, http: RestClient, credentials: tuple[str, Secret] | None = None) -> None:
        self.http = http
        self.credentials = credentials

    async def _get(self, path: str, auth: bool = True) -> dict[str, Any]:
        response = await self.http.request("GET", path, headers={"Accept": "application/json"}, auth=auth,
                                           credentials=self.credentials if auth else None)
        body = response.json()
        _status(body, response.what)
        return dict(body)

    async def version(self) -> str:
        body = await self._get(VERSION, auth=False)
        if not isinstance(body.get("version"), str):
            raise RestParseError(f"GET {self.http.url(VERSION)}: no version in the reply")
        return str(body["version"])

    async def me(self) -> dict[str, Any]:
        body = await self._get(ME)
        user = body.get("user")
        if not isinstance(user, dict):
            raise RestParseError(f"GET {self.http.url(ME)}: no user object in the reply")
        return user

    async def voice_state(self) -> dict[str, Any]:
        """The voice channel: its userState (state, displayName), activity, phone number."""
        body = await self._get(CHANNELS)
        for channel in body.get("channels") or []:
            if isinstance(channel, dict) and channel.get("name") == "voice":
                return channel
        raise GWSError(f"GET {self.http.url(CHANNELS)}: the user has no voice channel "
                       "(StartContactCenterSession first)")

    @staticmethod
    def state_of(channel: dict[str, Any]) -> str | None:
        user_state = channel.get("userState")
        return str(user_state.get("state")) if isinstance(user_state, dict) and "state" in user_state else None

    async def voice_operation(self, operation: str, expected_state: str, *, extra: dict[str, Any] | None = None,
                              timeout: float = 10.0, interval: float = 0.2) -> VoiceResult:
        """POST the operation, then poll until the voice state is `expected_state`.

        statusCode 0 followed by no change within `timeout` raises GWSError naming both states.
        """
        before = self.state_of(await self.voice_state())
        response = await self.http.request("POST", VOICE, json_body={"operationName": operation, **(extra or {})},
                                           headers={"Accept": "application/json"}, credentials=self.credentials)
        code = _status(response.json(), response.what)
        started = time.monotonic()
        while True:
            state = self.state_of(await self.voice_state())
            waited = time.monotonic() - started
            if state == expected_state:
                return VoiceResult(operation, expected_state, state, before, code, round(waited, 3))
            if waited >= timeout:
                raise GWSError(f"{operation}: GWS answered statusCode 0 (request accepted) but the voice state is "
                               f"still {state!r} after {timeout:g}s, expected {expected_state!r}; the request "
                               "reached T-Server but the change did not happen")
            await asyncio.sleep(min(interval, max(0.0, timeout - waited)))
