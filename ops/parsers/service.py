"""`utils service ...` output: the `Name[STATE]` lines of restart/stop/start and of `list`.

Status lines look like `Cisco Finesse Tomcat[STARTING]`, repeated a varying number of times,
possibly with trailing spaces; `utils service list` rows may carry a note after the bracket
(`Cisco HCS UC Monitor Service[STOPPED]  Service Not Activated`). Matched loosely: any
`name[WORD]` line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STATUS_RE = re.compile(r"^\s*(?P<name>\S.*?)\s*\[(?P<state>[A-Z][A-Z _]*)\]\s*(?P<note>.*?)\s*$")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: str
    note: str = ""


def parse_status_lines(text: str) -> list[ServiceStatus]:
    """Every `Name[STATE]` line, in order (repeats kept)."""
    found = []
    for line in text.splitlines():
        match = STATUS_RE.fullmatch(line)
        if match:
            found.append(ServiceStatus(match["name"], match["state"].strip(), match["note"]))
    return found


def progress(text: str, service: str) -> list[str]:
    """The states one service went through, consecutive repeats folded: [STOPPING, STARTING, STARTED]."""
    states: list[str] = []
    for status in parse_status_lines(text):
        if status.name.lower() == service.lower() and (not states or states[-1] != status.state):
            states.append(status.state)
    return states


def parse_service_list(text: str) -> dict[str, ServiceStatus]:
    """`utils service list`: service name -> its status."""
    return {s.name: s for s in parse_status_lines(text)}


def find(services: dict[str, ServiceStatus], name: str) -> ServiceStatus | None:
    """A service by name, ignoring case."""
    for key, status in services.items():
        if key.lower() == name.lower():
            return status
    return None
