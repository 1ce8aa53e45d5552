"""`show network status` (netstat-style) output as connection records, and a per-port summary.

Rows are split on white space, never on column positions: netstat pads its columns but long
addresses (IPv6, DNS names) push the rest of the row out of line. A row is
`proto recv-q send-q local foreign [state] [user inode] [pid/program]`; UDP rows have no state,
`detail` adds user and inode, `process` adds `PID/Program name` (`-` for sockets without a
process, such as TIME_WAIT). Addresses split at their last colon, so `:::8445`,
`::ffff:10.1.1.10:8445` and `10.1.1.10:8445` all work; ports stay text (`*`, or a service name
like `ssh` without `nodns`). Header lines, blank lines and anything after `Active UNIX domain
sockets` are skipped; an output with no rows (a `search` that matched nothing) gives no records.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, fields
from typing import Any

from ops.parsers.errors import one_line

STATES = frozenset({"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
                    "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "UNKNOWN"})
ROW_RE = re.compile(r"^(tcp|udp|raw)6?\s+\d+\s+\d+\s+\S+:\S*\s+\S+:\S*", re.I)
PROGRAM_RE = re.compile(r"^(?:(\d+)/(.*)|-)$")
FAILED_RE = re.compile(r"Executed command unsuccessfully|^Invalid (?:command|option)", re.I | re.M)
MAPPED_PREFIX = "::ffff:"


class NetworkStatusError(ValueError):
    """The appliance refused the command (its text is the message)."""


@dataclass(frozen=True)
class Connection:
    """One socket row."""

    proto: str
    recv_q: int
    send_q: int
    local_address: str
    local_port: str
    remote_address: str
    remote_port: str
    state: str  # "" for UDP
    user: str | None = None
    inode: int | None = None
    pid: int | None = None
    program: str | None = None

    @property
    def remote_host(self) -> str:
        """The remote address with an IPv4-mapped prefix removed (`::ffff:10.1.2.3` -> `10.1.2.3`)."""
        return unmap(self.remote_address)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FIELDS = [f.name for f in fields(Connection)]


def unmap(address: str) -> str:
    if address.lower().startswith(MAPPED_PREFIX) and "." in address:
        return address[len(MAPPED_PREFIX):]
    return address


def split_endpoint(text: str) -> tuple[str, str]:
    """`host:port` at the last colon: `:::8445` -> (`::`, `8445`), `0.0.0.0:*` -> (`0.0.0.0`, `*`)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, ""
    return host, port


def parse_row(line: str) -> Connection | None:
    """One row, or None when the line is not a socket row (headers, blanks, messages)."""
    if not ROW_RE.match(line.strip()):
        return None
    words = line.split()
    proto, recv_q, send_q, local, remote, rest = words[0], int(words[1]), int(words[2]), words[3], words[4], words[5:]
    state = ""
    if rest and rest[0].upper() in STATES:
        state, rest = rest[0].upper(), rest[1:]
    user: str | None = None
    inode: int | None = None
    if len(rest) >= 2 and rest[1].isdigit() and "/" not in rest[0]:
        user, inode, rest = rest[0], int(rest[1]), rest[2:]
    pid: int | None = None
    program: str | None = None
    # netstat cuts the program column at a fixed width, so it may hold spaces: `30211/sshd: admin [`.
    match = PROGRAM_RE.fullmatch(" ".join(rest)) if rest else None
    if match and match.group(1):
        pid, program = int(match.group(1)), match.group(2)
    local_host, local_port = split_endpoint(local)
    remote_host, remote_port = split_endpoint(remote)
    return Connection(proto.lower(), recv_q, send_q, local_host, local_port, remote_host, remote_port, state,
                      user, inode, pid, program)


def parse_network_status(text: str) -> list[Connection]:
    """Every socket row of `show network status` output, in order.

    Raises NetworkStatusError when the output is the appliance refusing the command.
    """
    if FAILED_RE.search(text):
        raise NetworkStatusError(one_line(text, "the appliance refused the command"))
    records = []
    for line in text.splitlines():
        if line.startswith("Active UNIX domain sockets"):
            break
        record = parse_row(line)
        if record is not None:
            records.append(record)
    return records


def summarize(records: list[Connection]) -> dict[str, Any]:
    """Connections per state and per local port, and the distinct remote clients of each port.

    A port's `remote_clients` counts the distinct remote hosts (IPv4-mapped addresses folded into
    IPv4) with an ESTABLISHED connection to it: who is on the desktop (8445) or on XMPP over
    BOSH (7443) right now; `clients` lists them. Listening sockets count in `listening`, not in
    `connections`.
    """
    states = Counter(r.state or "-" for r in records)
    ports: dict[str, dict[str, Any]] = {}
    for record in records:
        port = ports.setdefault(record.local_port, {"connections": 0, "listening": False, "states": {},
                                                    "remote_clients": 0, "clients": []})
        if record.state == "LISTEN" or (not record.state and record.remote_port == "*"):
            port["listening"] = True
            continue
        port["connections"] += 1
        key = record.state or "-"
        port["states"][key] = port["states"].get(key, 0) + 1
        if record.state == "ESTABLISHED" and record.remote_host not in port["clients"]:
            port["clients"].append(record.remote_host)
    for port in ports.values():
        port["clients"].sort()
        port["remote_clients"] = len(port["clients"])
    ordered = dict(sorted(ports.items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0,
                                                         kv[0])))
    return {"connections": sum(p["connections"] for p in ports.values()), "states": dict(sorted(states.items())),
            "ports": ordered}
