"""The lab's Genesys Web Services API v2: version, /me, the voice channel and its operations.

Operations are asynchronous as on GWS: POST answers `{"statusCode": 0}` at once and the voice
state changes `config.gws_delay` seconds later, or never when `config.agent_state_stuck` is set
(the case where statusCode 0 must not be taken for success).
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from ops.lab.rest.state import Agent, RestState
from ops.lab.rest.wire import Reply, Request, json_reply

if TYPE_CHECKING:
    from ops.lab.server import LabAppliance

OPERATIONS = {"Ready": "Ready", "NotReady": "NotReady"}
DISPLAY = {"Ready": "Ready", "NotReady": "Not Ready"}


def _error(status: int, code: int, message: str) -> Reply:
    headers = {"WWW-Authenticate": 'Basic realm="GWS"'} if status == 401 else {}
    return json_reply(status, {"statusCode": code, "statusMessage": message}, headers)


def _agent(lab: LabAppliance, state: RestState, req: Request) -> Agent | None:
    creds = req.basic_auth()
    if creds is None:
        return None
    agent = state.agent_by_user_name(creds[0])
    if agent is None or not secrets.compare_digest(creds[1].encode(), lab.config.agent_password.encode()):
        return None
    return agent


def _user(agent: Agent) -> dict[str, Any]:
    uid = f"{int(agent.id):032x}"
    return {"id": uid, "userName": agent.user_name, "firstName": agent.first_name, "lastName": agent.last_name,
            "roles": ["ROLE_AGENT"], "enabled": True, "changePasswordOnFirstLogin": False,
            "uri": f"https://lab/api/v2/users/{uid}", "path": f"/users/{uid}"}


def _voice(agent: Agent) -> dict[str, Any]:
    return {"name": "voice", "phoneNumber": agent.extension, "switchName": "SIP_Switch", "activity": "Idle",
            "userState": {"state": agent.gws_state, "displayName": DISPLAY.get(agent.gws_state, agent.gws_state)}}


def handle(lab: LabAppliance, state: RestState, req: Request) -> Reply | None:
    """The GWS answer to `req`, or None when the path is not GWS's."""
    if not req.path.startswith("/api/v2/"):
        return None
    if req.path == "/api/v2/diagnostics/version" and req.method == "GET":
        return json_reply(200, {"statusCode": 0, "version": lab.config.gws_version})
    agent = _agent(lab, state, req)
    if agent is None:
        return _error(401, 401, "Bad credentials")
    if req.path == "/api/v2/me" and req.method == "GET":
        return json_reply(200, {"statusCode": 0, "user": _user(agent)})
    if req.path == "/api/v2/me/channels" and req.method == "GET":
        with state.lock:
            return json_reply(200, {"statusCode": 0, "channels": [_voice(agent)]})
    if req.path == "/api/v2/me/channels/voice" and req.method == "POST":
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return _error(400, 2, "Invalid JSON in request body")
        operation = body.get("operationName") if isinstance(body, dict) else None
        if not isinstance(operation, str):
            return json_reply(200, {"statusCode": 1, "statusMessage": "Missing parameter: operationName"})
        if operation not in OPERATIONS:
            return json_reply(200, {"statusCode": 2, "statusMessage": f"Invalid operationName: {operation}"})
        if not lab.config.agent_state_stuck:
            target = OPERATIONS[operation]

            def apply() -> None:
                agent.gws_state = target

            state.later(lab.config.gws_delay, apply)
        return json_reply(200, {"statusCode": 0})
    return _error(404, 404, f"No resource at {req.method} {req.path}")
