"""The lab's Finesse REST API: SystemInfo, the diagnostic portal, User state, a cached ChatConfig,
and the configuration APIs (ops.lab.rest.config).

Admin calls sign in through `lab.admin_ui` (the same account, failure count and 30-minute lock
as the CLI's `utils reset_application_ui_administrator_password` works on). An agent may read
and change their own User; the admin may do so for any agent (the lab's stand-in for a
supervisor). GET responses of cached resources are served from the node's webproxy cache until
`utils webproxy cache clear` bumps `lab.webproxy_cache_generation`, or when the request has
`bypassServerCache=true` (seed 001). Each node of a lab cluster answers with its own SystemInfo:
its own status, both nodes named as primary and secondary.
"""

from __future__ import annotations

import re
import secrets
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from ops.lab.rest import config
from ops.lab.rest.state import DOMAIN, Agent, CachedReply, Node, RestState, peer_name, timestamp
from ops.lab.rest.wire import Reply, Request, xml

if TYPE_CHECKING:
    from ops.lab.server import LabAppliance

USER_RE = re.compile(r"^/finesse/api/User/([^/]+)$")
STATES = {"READY", "NOT_READY", "LOGOUT"}


def api_error(status: int, error_type: str, message: str) -> Reply:
    body = (f"<ApiErrors><ApiError><ErrorType>{escape(error_type)}</ErrorType>"
            f"<ErrorData>{escape(message)}</ErrorData><ErrorMessage>{escape(message)}</ErrorMessage>"
            "</ApiError></ApiErrors>")
    headers = {"WWW-Authenticate": 'Basic realm="Cisco Finesse"'} if status == 401 else {}
    return xml(status, body, headers)


UNAUTHORIZED = api_error(401, "Authentication Failure", "Unauthorized")


def _admin(lab: LabAppliance, req: Request) -> bool:
    creds = req.basic_auth()
    return creds is not None and lab.admin_ui.sign_in(*creds)


def _agent_or_admin(lab: LabAppliance, req: Request, agent: Agent) -> bool:
    creds = req.basic_auth()
    if creds is None:
        return False
    username, password = creds
    if username == lab.admin_ui.username:
        return lab.admin_ui.sign_in(username, password)
    return username == agent.id and secrets.compare_digest(password.encode(), lab.config.agent_password.encode())


def system_info(lab: LabAppliance, node: Node) -> Reply:
    cfg = lab.config
    # The cluster as this lab's configuration names it, whether or not the lab serves the peer.
    names = {cfg.finesse_role: cfg.hostname,
             "secondary" if cfg.finesse_role == "primary" else "primary": peer_name(cfg.hostname, cfg.finesse_peer)}
    primary, secondary, me = names["primary"], names["secondary"], node.name
    domain = DOMAIN
    # Why a node is not in service: the lab's one reason (SystemInfo's statusReason is not in the seeds).
    reason = "" if node.status == "IN_SERVICE" else "<statusReason>CTI connection lost</statusReason>"
    body = (
        "<SystemInfo>"
        f"<currentTimestamp>{timestamp()}</currentTimestamp>"
        f"<deploymentType>{escape(cfg.deployment_type)}</deploymentType>"
        "<lastCTIHeartbeatStatus>Success</lastCTIHeartbeatStatus>"
        f"<lastSuccessCTIHeartbeatTime>{int(lab.now * 1000)}</lastSuccessCTIHeartbeatTime>"
        "<ctiVersion>23</ctiVersion><ctiHeartbeatInterval>2</ctiHeartbeatInterval>"
        "<license>UCCE</license><peripheralId>5000</peripheralId>"
        f"<primaryNode><host>{escape(primary + domain)}</host><httpsPort>8445</httpsPort>"
        "<xmppPort>5222</xmppPort><xmppSecurePort>7443</xmppSecurePort></primaryNode>"
        f"<secondaryNode><host>{escape(secondary + domain)}</host><httpsPort>8445</httpsPort>"
        "<xmppPort>5222</xmppPort><xmppSecurePort>7443</xmppSecurePort></secondaryNode>"
        f"<status>{escape(node.status)}</status>{reason}"
        "<systemAuthMode>NON_SSO</systemAuthMode><timezoneOffset>0</timezoneOffset>"
        "<uri>/finesse/api/SystemInfo</uri>"
        f"<xmppDomain>{escape(me + domain)}</xmppDomain><xmppPubSubDomain>pubsub.{escape(me + domain)}"
        "</xmppPubSubDomain>"
        "<ctiServers><ctiServer><host>cg1a.lab.example.com</host><connectedDuration>86400</connectedDuration>"
        "<active>true</active></ctiServer></ctiServers>"
        "</SystemInfo>"
    )
    return xml(200, body)


def performance(lab: LabAppliance, state: RestState) -> Reply:
    with state.lock:
        ready = sum(1 for a in state.agents.values() if a.finesse_state != "LOGOUT")
    props = [
        ("Tomcat/Heap Memory Utilized", "109441280"), ("Tomcat/Non Heap Memory Utilized", "50921904"),
        ("CTI Statistics/Incoming Responses Queue", "0"), ("CTI Statistics/Outgoing Responses Queue", "0"),
        ("Tomcat/Average Request Process Time", "3"), ("Tomcat/Longest Request Process Time", "412"),
        ("Average System Load", "1.47"), ("Tomcat/Thread Count", "183"), ("Tomcat/Peak Thread Count", "190"),
        ("CTI Statistics/Events In Queue", "0"), ("CTI Statistics/Decoding Responses Queue", "0"),
        ("Active Totals/Logged In Agents", str(ready)), ("Active Totals/Current Calls", "2"),
        ("Running Totals/Calls Received or Initiated", "1542"), ("Running Totals/Calls Failed", "3"),
    ]
    items = "".join(f'<dp:Property Value="{v}" Name="{escape(n)}"/>' for n, v in props)
    body = ('<dp:GetPerformanceInformationReply ReturnCode="0" '
            'xmlns:dp="http://www.cisco.com/vtg/diagnosticportal"><dp:Schema Version="1.0"/>'
            f"{items}</dp:GetPerformanceInformationReply>")
    return xml(200, body)


def user_xml(agent: Agent) -> Reply:
    reason = f"<reasonCodeId>{agent.reason_code_id}</reasonCodeId>" if agent.reason_code_id is not None else ""
    body = (f"<User><uri>/finesse/api/User/{agent.id}</uri><loginId>{agent.id}</loginId>"
            f"<loginName>{escape(agent.user_name)}</loginName><firstName>{escape(agent.first_name)}</firstName>"
            f"<lastName>{escape(agent.last_name)}</lastName><extension>{agent.extension}</extension>"
            f"<roles><role>Agent</role></roles><state>{agent.finesse_state}</state>{reason}"
            f"<stateChangeTime>{agent.state_change_time}</stateChangeTime><pendingState></pendingState>"
            "</User>")
    return xml(200, body)


def change_state(lab: LabAppliance, state: RestState, agent: Agent, req: Request) -> Reply:
    try:
        root = ET.fromstring(req.body)
    except ET.ParseError as exc:
        return api_error(400, "Parameter Error", f"Invalid XML: {exc}")
    new_state = (root.findtext("state") or "").strip()
    if root.tag != "User" or new_state not in STATES:
        return api_error(400, "Invalid State", f"Invalid state: {new_state or '(none)'}")
    reason_text = (root.findtext("reasonCodeId") or "").strip()
    if reason_text and not reason_text.isdigit():
        return api_error(400, "Parameter Error", f"Invalid reasonCodeId: {reason_text}")
    if not lab.config.agent_state_stuck:
        with state.lock:
            agent.finesse_state = new_state
            agent.reason_code_id = int(reason_text) if reason_text and new_state == "NOT_READY" else None
            agent.state_change_time = timestamp()
    return Reply(202, b"", "application/xml")


def chat_config(state: RestState) -> Reply:
    with state.lock:
        server = state.chat_server
    return xml(200, f"<ChatConfig><chatServer>{escape(server)}</chatServer><chatPort>5222</chatPort></ChatConfig>")


def _cached(state: RestState, node: Node, req: Request, fresh: Reply, key: str) -> Reply:
    """`fresh`, or what the node's webproxy cached for `key` (seed 001: bypassServerCache=true
    reads through; `utils webproxy cache clear rest` empties it)."""
    if req.method != "GET" or fresh.status != 200:
        return fresh
    generation = node.generation()
    with state.lock:
        entry = node.cache.get(key)
        if req.bypass_cache:
            return fresh
        if entry is None or entry.generation != generation:
            entry = CachedReply(generation, fresh.status, fresh.content_type, fresh.body)
            node.cache[key] = entry
    return Reply(entry.status, entry.body, entry.content_type, {"X-Cache": "HIT"})


def _team_member(lab: LabAppliance, state: RestState, req: Request, team_id: str) -> bool:
    """The admin, or an agent of the team (TeamResource: "Agents and supervisors who are part of the team")."""
    creds = req.basic_auth()
    if creds is None:
        return False
    username, password = creds
    if username == lab.admin_ui.username:
        return lab.admin_ui.sign_in(username, password)
    with state.lock:
        team = state.config.teams.get(team_id)
        member = team is not None and username in team.agents
    return member and secrets.compare_digest(password.encode(), lab.config.agent_password.encode())


def handle(lab: LabAppliance, state: RestState, node: Node, req: Request) -> Reply | None:
    """The Finesse answer to `req` reaching `node`, or None when the path is not Finesse's."""
    path = req.path
    if not (path.startswith("/finesse/") or path.startswith("/finesse-dp/")):
        return None
    route = config.matches(path)
    if route is not None:
        team = route["resource_team"]
        if not (_team_member(lab, state, req, team) if team else _admin(lab, req)):
            return UNAUTHORIZED
        return config.handle(state, node, req, route, lambda fresh, key: _cached(state, node, req, fresh, key))
    user = USER_RE.fullmatch(path)
    if user:
        with state.lock:
            agent = state.agents.get(user.group(1))
        if agent is None:
            # Sign-in is checked first, as on Finesse: a stranger learns nothing about ids.
            if not _admin(lab, req):
                return UNAUTHORIZED
            return api_error(404, "Not Found", f"User {user.group(1)} not found")
        if not _agent_or_admin(lab, req, agent):
            return UNAUTHORIZED
        if req.method == "GET":
            with state.lock:
                return user_xml(agent)
        if req.method == "PUT":
            return change_state(lab, state, agent, req)
        return api_error(405, "Method Not Allowed", f"{req.method} is not supported on User")
    if not _admin(lab, req):
        return UNAUTHORIZED
    if req.method != "GET":
        return api_error(405, "Method Not Allowed", f"{req.method} is not supported on {path}")
    if path == "/finesse/api/SystemInfo":
        return system_info(lab, node)
    if path == "/finesse-dp/rest/DiagnosticPortal/GetPerformanceInformation":
        return performance(lab, state)
    if path == "/finesse/api/ChatConfig":
        return _cached(state, node, req, chat_config(state), path)
    return api_error(404, "Not Found", f"No resource at {path}")
