"""Which node of a Finesse cluster a REST step talks to, chosen by SystemInfo (seed 000: "Load
Balancing: use SystemInfo API").

A Finesse cluster has a primary and a secondary node, and each node's SystemInfo names both
(`primaryNode`, `secondaryNode`) and says whether the node is IN_SERVICE. A step asks for one of:
- `addressed`: the node the inventory names, whatever its state (a health check of that node);
- `in_service`: the addressed node if it answers and is IN_SERVICE, else a peer that is;
- `primary`: the node that takes configuration (the secondary refuses it with 403: the Finesse
  developer guide's error tables, "Configuration APIs cannot be run against the secondary").
A peer is reached at the host's `rest.peers` when the inventory gives them (an address the
toolkit can reach, or the only way when SystemInfo cannot be read), else at the name SystemInfo
gives it, on the addressed node's scheme and port. The choice is made once a run for each host
and kind, and says why: which node answered, and why the step moved.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Literal

from ops.parsers.finesse import FinesseParseError, parse_system_info
from ops.rest.http import RestClient, RestError, RestHTTPError

Want = Literal["addressed", "in_service", "primary"]
SYSTEM_INFO = "/finesse/api/SystemInfo"
IN_SERVICE = "IN_SERVICE"


@dataclass(frozen=True)
class Node:
    """One node as a step reaches it: its URL, and what its SystemInfo said (None: not read)."""

    base_url: str
    name: str | None = None  # as SystemInfo names it (its FQDN), when known
    role: str | None = None  # primary / secondary, when known
    status: str | None = None
    problem: str | None = None  # why it could not serve: did not answer, not IN_SERVICE ...

    @property
    def label(self) -> str:
        host = urllib.parse.urlsplit(self.base_url).netloc
        named = self.name if self.name and self.name.split(".")[0] not in host else None
        role = f"{self.role} node " if self.role else ""
        return f"{role}{named + ' at ' if named else ''}{host}"


@dataclass(frozen=True)
class Route:
    """The node a step's requests go to, and why."""

    node: Node
    want: Want
    moved: bool = False
    why: str = ""
    tried: tuple[Node, ...] = field(default_factory=tuple)

    def as_data(self) -> dict[str, Any]:
        return {"url": self.node.base_url, "host": self.node.name, "role": self.node.role, "status": self.node.status,
                "wanted": self.want, "moved": self.moved, "why": self.why,
                "tried": [{"url": n.base_url, "host": n.name, "role": n.role, "status": n.status, "problem": n.problem}
                          for n in self.tried]}

    @property
    def summary(self) -> str:
        return f"via {self.node.label}: {self.why}" if self.why else f"via {self.node.label}"


class NoNodeError(RestError):
    """No node of the cluster could serve the step; the message says what each node said."""


def _short(name: str) -> str:
    return name.split(".")[0].lower()


def _host_of(base_url: str) -> str:
    return (urllib.parse.urlsplit(base_url).hostname or "").lower()


def _same(name: str, address: str) -> bool:
    return name.lower() == address.lower() or _short(name) == _short(address)


def _identify(info: dict[str, Any], base_url: str, host_name: str | None) -> dict[str, Any] | None:
    """The SystemInfo node record that `base_url` (or the inventory's host name) is, if it can be told."""
    address = _host_of(base_url)
    for node in info["nodes"]:
        if _same(node["host"], address) or (host_name and _same(node["host"], host_name)):
            return dict(node)
    return None


async def _probe(client: RestClient, base_url: str, host_name: str | None) -> tuple[Node, dict[str, Any] | None]:
    try:
        response = await client.request("GET", SYSTEM_INFO, headers={"Accept": "application/xml"}, base=base_url)
        info = parse_system_info(response.text, f"the SystemInfo from {response.what}")
    except RestHTTPError as exc:
        return Node(base_url, problem=f"answered SystemInfo with HTTP {exc.status}"), None
    except FinesseParseError as exc:
        return Node(base_url, problem=f"sent a SystemInfo that could not be read ({exc})"), None
    except RestError as exc:
        return Node(base_url, problem=f"did not answer ({exc})"), None
    me = _identify(info, base_url, host_name)
    problem = None if info["status"] == IN_SERVICE else (
        f"is {info['status']}" + (f" ({info['status_reason']})" if info.get("status_reason") else ""))
    return Node(base_url, me["host"] if me else None, me["role"] if me else None, info["status"], problem), info


def _peer_urls(client: RestClient, info: dict[str, Any] | None, me: Node) -> list[str]:
    if client.endpoint.peers:
        return list(client.endpoint.peers)
    if info is None:
        return []
    split = urllib.parse.urlsplit(client.endpoint.base_url)
    port = f":{split.port}" if split.port else ""
    return [f"{split.scheme}://{node['host']}{port}" for node in info["nodes"]
            if not (me.name and _same(node["host"], me.name))]


def _with_role(node: Node, info: dict[str, Any] | None, other: Node) -> Node:
    """`node`, its role told by elimination when the other node's is known (a peer reached by address)."""
    if node.role is not None or info is None:
        return node
    roles = {n["role"]: n["host"] for n in info["nodes"]}
    if other.role in roles and len(roles) == 2:
        role = "secondary" if other.role == "primary" else "primary"
        return Node(node.base_url, roles[role], role, node.status, node.problem)
    return node


def _named(node: Node, info: dict[str, Any], host_name: str | None) -> Node:
    """The addressed node, named and given its role from another node's SystemInfo (by the inventory's name)."""
    if node.role is not None:
        return node
    found = _identify(info, node.base_url, host_name)
    return Node(node.base_url, found["host"], found["role"], node.status, node.problem) if found else node


def _explain(nodes: list[Node]) -> str:
    return "; ".join(f"{n.label} {n.problem or 'is ' + str(n.status)}" for n in nodes)


async def route(client: RestClient, want: Want) -> Route:
    """The node for a step that wants `want`; the client sends there from now on. Raises NoNodeError
    when no node can serve. Made once a run for each `want` and kept on the client."""
    if want == "addressed" or not client.endpoint.failover:
        client.use(None)
        return Route(Node(client.endpoint.base_url), "addressed")
    known = client.routes.get(want)
    if isinstance(known, Route):
        client.use(known.node.base_url)
        return known
    chosen = await _choose(client, want)
    client.routes[want] = chosen
    client.use(chosen.node.base_url)
    if chosen.moved:
        client.note(f"{want.replace('_', ' ')} node: {chosen.summary}")
    return chosen


async def _choose(client: RestClient, want: Want) -> Route:
    endpoint = client.endpoint
    if endpoint.username is None or endpoint.password is None:
        return Route(Node(endpoint.base_url), want, why="no credentials to read SystemInfo with: the addressed node")
    me, info = await _probe(client, endpoint.base_url, endpoint.name)
    if info is not None and info["status"] == IN_SERVICE and (want == "in_service" or me.role == "primary"):
        return Route(me, want, tried=(me,))
    if want == "primary" and info is not None and me.role is None:
        names = ", ".join(f"{n['role']} {n['host']}" for n in info["nodes"]) or "no nodes"
        return Route(me, want, tried=(me,), why=(
            f"cannot tell which node this is (SystemInfo names {names}): using the addressed node; name the host "
            "by its FQDN or set rest.peers"))
    if want == "primary" and me.role == "primary":  # the primary, answering but not IN_SERVICE
        return Route(me, want, tried=(me,), why=f"the primary node {me.problem}; configuration goes to it all the same")
    if want == "primary" and me.role == "secondary":
        me = Node(me.base_url, me.name, me.role, me.status, "refuses configuration (Finesse: 403 on the secondary)")
    tried = [me]
    for url in _peer_urls(client, info, me):
        peer, peer_info = await _probe(client, url, None)
        if peer_info is not None:
            me = tried[0] = _named(me, peer_info, endpoint.name)
        peer = _with_role(peer, peer_info or info, me)
        tried.append(peer)
        if peer_info is None:
            continue
        if want == "primary" and peer.role == "primary":
            return Route(peer, want, moved=True, why=f"{me.label} {me.problem}", tried=tuple(tried))
        if want == "in_service" and peer.status == IN_SERVICE:
            return Route(peer, want, moved=True, why=f"{me.label} {me.problem}", tried=tuple(tried))
    if info is not None and want == "in_service":
        return Route(me, want, tried=tuple(tried), why=f"no node is IN_SERVICE ({_explain(tried)}): the addressed node")
    if not tried[1:]:
        hint = " (set rest.peers to reach the other node)" if info is None else ""
        raise NoNodeError(f"no Finesse node could serve: {_explain(tried)}{hint}")
    needed = "the primary node" if want == "primary" else "a node that is IN_SERVICE"
    raise NoNodeError(f"no Finesse node could serve as {needed}: {_explain(tried)}")
