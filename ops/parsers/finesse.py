"""Pure functions from Finesse REST XML to records: SystemInfo, GetPerformanceInformation, User.

Each raises `FinesseParseError` with what was expected and what came, never a bare parser
traceback; none does any I/O, so each is tested on captured bodies in tests/fixtures/rest/.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from ops.parsers.xml import ParseError, local_name, parse_xml, xml_to_data

__all__ = ["METRICS", "FinesseParseError", "not_in_service", "parse_performance", "parse_system_info",
           "parse_user"]

IN_SERVICE = "IN_SERVICE"


class FinesseParseError(ParseError):
    """A Finesse body that is not the document it should be."""


def document(text: str, expected: str, where: str) -> ET.Element:
    """The root of a Finesse XML body, which must be an `<expected>` document (FinesseParseError otherwise)."""
    try:
        root = parse_xml(text, where)
    except ParseError as exc:
        raise FinesseParseError(str(exc)) from None
    if local_name(root.tag) != expected:
        raise FinesseParseError(f"{where}: expected a <{expected}> document, got <{local_name(root.tag)}>")
    return root


def _child_text(root: ET.Element, name: str) -> str | None:
    for child in root:
        if local_name(child.tag) == name:
            return (child.text or "").strip()
    return None


def _child(root: ET.Element, name: str) -> ET.Element | None:
    for child in root:
        if local_name(child.tag) == name:
            return child
    return None


def _int(value: str | None) -> int | None:
    if value is None or not re.fullmatch(r"-?\d+", value.strip()):
        return None
    return int(value)


def parse_system_info(text: str, where: str = "SystemInfo") -> dict[str, Any]:
    """`GET /finesse/api/SystemInfo` as a record: status, deployment, nodes with roles, timestamps."""
    root = document(text, "SystemInfo", where)
    status = _child_text(root, "status")
    if not status:
        raise FinesseParseError(f"{where}: <SystemInfo> has no <status>")
    nodes = []
    for role in ("primary", "secondary"):
        node = _child(root, f"{role}Node")
        if node is None:
            continue
        host = _child_text(node, "host")
        if not host:
            continue
        record: dict[str, Any] = {"role": role, "host": host}
        for key in ("httpsPort", "xmppPort", "xmppSecurePort"):
            port = _int(_child_text(node, key))
            if port is not None:
                record[re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()] = port
        nodes.append(record)
    cti_servers = []
    servers = _child(root, "ctiServers")
    for server in servers if servers is not None else []:
        cti_servers.append({"host": _child_text(server, "host"),
                            "active": (_child_text(server, "active") or "").lower() == "true",
                            "connected_duration": _int(_child_text(server, "connectedDuration"))})
    return {
        "status": status,
        "status_reason": _child_text(root, "statusReason") or None,
        "in_service": status == IN_SERVICE,
        "deployment_type": _child_text(root, "deploymentType"),
        "current_timestamp": _child_text(root, "currentTimestamp"),
        "timezone_offset": _int(_child_text(root, "timezoneOffset")),
        "system_auth_mode": _child_text(root, "systemAuthMode"),
        "xmpp_domain": _child_text(root, "xmppDomain"),
        "peripheral_id": _child_text(root, "peripheralId"),
        "last_cti_heartbeat_status": _child_text(root, "lastCTIHeartbeatStatus"),
        "last_cti_heartbeat_time": _child_text(root, "lastSuccessCTIHeartbeatTime"),
        "cti_version": _child_text(root, "ctiVersion"),
        "nodes": nodes,
        "cti_servers": cti_servers,
    }


def not_in_service(info: dict[str, Any], host: str) -> str | None:
    """Why a node is unhealthy, naming it, or None when it is IN_SERVICE."""
    if info["status"] == IN_SERVICE:
        return None
    fqdn = next((n["host"] for n in info["nodes"] if n["host"].split(".")[0] == host.split(".")[0]), None)
    role = next((n["role"] for n in info["nodes"] if n["host"] == fqdn), None)
    node = host + (f" ({fqdn}, {role} node)" if fqdn and role else "")
    reason = f": {info['status_reason']}" if info.get("status_reason") else ""
    return f"Finesse node {node} is {info['status']}, not IN_SERVICE{reason}"


# Property name (whitespace collapsed) -> metric name.
METRICS: dict[str, str] = {
    "Tomcat/Heap Memory Utilized": "heap_used_bytes",
    "Tomcat/Non Heap Memory Utilized": "non_heap_used_bytes",
    "Tomcat/Thread Count": "threads",
    "Tomcat/Peak Thread Count": "peak_threads",
    "Tomcat/Average Request Process Time": "request_avg_ms",
    "Tomcat/Longest Request Process Time": "request_longest_ms",
    "CTI Statistics/Incoming Responses Queue": "queue_incoming_responses",
    "CTI Statistics/Outgoing Responses Queue": "queue_outgoing_responses",
    "CTI Statistics/Events In Queue": "queue_events",
    "CTI Statistics/Decoding Responses Queue": "queue_decoding_responses",
    "Average System Load": "load_average",
    "Active Totals/Logged In Agents": "agents_logged_in",
    "Active Totals/Current Calls": "calls_current",
    "Running Totals/Calls Received or Initiated": "calls_received_or_initiated",
    "Running Totals/Calls Failed": "calls_failed",
}


def _number(value: str) -> int | float | str:
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def parse_performance(text: str, where: str = "GetPerformanceInformation") -> dict[str, Any]:
    """The diagnostic portal's `dp:Property` list as named metrics (plus every property by name)."""
    root = document(text, "GetPerformanceInformationReply", where)
    code = root.attrib.get("ReturnCode")
    if code not in (None, "0"):
        raise FinesseParseError(f"{where}: ReturnCode={code} (the diagnostic portal reported an error)")
    properties: dict[str, int | float | str] = {}
    for element in root.iter():
        if local_name(element.tag) != "Property":
            continue
        name = " ".join((element.attrib.get("Name") or "").split())
        if not name or "Value" not in element.attrib:
            raise FinesseParseError(f"{where}: a dp:Property without Name or Value: {element.attrib}")
        properties[name] = _number(element.attrib["Value"])
    if not properties:
        raise FinesseParseError(f"{where}: no dp:Property elements in the reply")
    metrics = {METRICS[name]: value for name, value in properties.items() if name in METRICS}
    return {"metrics": metrics, "properties": properties}


def parse_user(text: str, where: str = "User") -> dict[str, Any]:
    """`GET /finesse/api/User/<id>`: id, names, extension, state and when it changed, reason code."""
    root = document(text, "User", where)
    state = _child_text(root, "state")
    if state is None:
        raise FinesseParseError(f"{where}: <User> has no <state>")
    data = xml_to_data(root)
    return {
        "id": _child_text(root, "loginId"),
        "login_name": _child_text(root, "loginName"),
        "first_name": _child_text(root, "firstName"),
        "last_name": _child_text(root, "lastName"),
        "extension": _child_text(root, "extension"),
        "state": state,
        "pending_state": _child_text(root, "pendingState") or None,
        "state_change_time": _child_text(root, "stateChangeTime"),
        "reason_code_id": _int(_child_text(root, "reasonCodeId")),
        "raw": data if isinstance(data, dict) else {},
    }
