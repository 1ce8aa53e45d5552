"""Finesse REST client: SystemInfo, the diagnostic portal's performance figures, user state.

Paths as in the Cisco Finesse Web Services Developer Guide. `bypass_cache` adds
`bypassServerCache=true`, which makes the Finesse webproxy answer from the server instead of
its REST response cache (seed 001: for troubleshooting only, it costs performance).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from ops.parsers.finesse import parse_performance, parse_system_info, parse_user
from ops.rest.http import Response, RestClient
from ops.secrets import Secret

SYSTEM_INFO = "/finesse/api/SystemInfo"
PERFORMANCE = "/finesse-dp/rest/DiagnosticPortal/GetPerformanceInformation"
USER = "/finesse/api/User/{user}"
XML = {"Content-Type": "application/xml", "Accept": "application/xml"}


def cache_query(bypass_cache: bool) -> dict[str, str]:
    return {"bypassServerCache": "true"} if bypass_cache else {}


def user_state_body(state: str, reason_code_id: int | None = None) -> str:
    reason = f"<reasonCodeId>{reason_code_id}</reasonCodeId>" if reason_code_id is not None else ""
    return f"<User><state>{escape(state)}</state>{reason}</User>"


class FinesseClient:
    """The Finesse calls the steps make, over a host's `RestClient`."""

    def __init__(self, http: RestClient, credentials: tuple[str, Secret] | None = None) -> None:
        self.http = http
        self.credentials = credentials

    async def _get(self, path: str, bypass_cache: bool) -> Response:
        return await self.http.request("GET", path, query=cache_query(bypass_cache), headers={"Accept": XML["Accept"]},
                                       credentials=self.credentials)

    async def system_info(self, bypass_cache: bool = False) -> dict[str, Any]:
        response = await self._get(SYSTEM_INFO, bypass_cache)
        return parse_system_info(response.text, f"the SystemInfo from {response.what}")

    async def performance(self, bypass_cache: bool = False) -> dict[str, Any]:
        response = await self._get(PERFORMANCE, bypass_cache)
        return parse_performance(response.text, f"the performance information from {response.what}")

    async def user(self, user: str, bypass_cache: bool = False) -> dict[str, Any]:
        response = await self._get(USER.format(user=user), bypass_cache)
        return parse_user(response.text, f"the User from {response.what}")

    async def set_user_state(self, user: str, state: str, reason_code_id: int | None = None) -> Response:
        return await self.http.request("PUT", USER.format(user=user), headers=XML,
                                       content=user_state_body(state, reason_code_id), credentials=self.credentials)
