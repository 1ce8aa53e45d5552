"""REST that follows the node in service: failover by SystemInfo and `rest.peers`, against lab clusters;
the Genesys Web Services 2,000-character URL refusal; the inventory's `rest.peers`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ops.inventory import RestFields, load_inventory
from ops.lab.server import LabAppliance, LabConfig
from ops.report import RunReport
from ops.rest.http import Endpoint, RestClient, URLTooLong
from ops.rest.settings import endpoint_for
from ops.secrets import Secret
from tests.helpers import run
from tests.test_finesse_config import Target, cluster, peer_of, play, step

__all__ = ["cluster"]  # the fixture, shared

# Lab agents start NOT_READY: this changes one.
READY = "  - name: agent\n    finesse_user_state: {user: '1001002', state: READY, timeout: 2}\n"
INFO = "  - name: info\n    finesse_system_info: {}\n    ignore_errors: true\n"


def test_a_step_moves_to_the_peer_when_its_node_is_out_of_service(tmp_path: Path,
                                                                   cluster: Callable[..., LabConfig]) -> None:
    async def go() -> tuple[RunReport, str]:
        async with LabAppliance(cluster(hostname="fin-a", finesse_peer_node=True,
                                        finesse_status="OUT_OF_SERVICE")) as lab:
            assert lab.rest is not None
            report = await play(tmp_path, {"fin-a": Target(lab, peers=[peer_of(lab)])}, INFO + READY)
            return report, lab.rest.state.agents["1001002"].finesse_state

    report, state = run(go())
    info, agent = step(report, "fin-a", 0), step(report, "fin-a", 1)
    # The health check reports the node it was pointed at, and does not move.
    assert info.status == "ignored" and "is OUT_OF_SERVICE, not IN_SERVICE" in info.message
    assert agent.status == "changed", agent.message
    assert agent.message.startswith("user 1001002: NOT_READY -> READY [via secondary node "
                                    "fin-a-peer.lab.example.com at 127.0.0.1:")
    assert agent.message.endswith("primary node fin-a.lab.example.com at 127.0.0.1:"
                                  f"{agent.data['node']['tried'][0]['url'].rsplit(':', 1)[1]} is OUT_OF_SERVICE "
                                  "(CTI connection lost)]")
    assert agent.data["node"]["moved"] and agent.data["node"]["role"] == "secondary"
    assert state == "READY"  # the peer shares the cluster's agents
    transcript = (tmp_path / "collected" / report.run_id / "fin-a" / "transcript.log").read_text()
    assert "rest: in service node: via secondary node fin-a-peer.lab.example.com" in transcript


def test_rest_peers_reach_the_peer_when_the_node_does_not_answer(tmp_path: Path,
                                                                 cluster: Callable[..., LabConfig]) -> None:
    async def go() -> tuple[RunReport, RunReport]:
        async with LabAppliance(cluster(hostname="fin-a", finesse_peer_node=True, finesse_refuses=True)) as lab:
            with_peers = await play(tmp_path, {"fin-a": Target(lab, peers=[peer_of(lab)])},
                                    READY + "  - name: raw\n    rest: {path: /finesse/api/ChatConfig}\n")
            (tmp_path / "2").mkdir()
            without = await play(tmp_path / "2", {"fin-a": lab}, READY)
            return with_peers, without

    with_peers, without = run(go())
    agent, raw = step(with_peers, "fin-a", 0), step(with_peers, "fin-a", 1)
    assert agent.status == "changed", agent.message
    assert "[via secondary node fin-a-peer.lab.example.com at 127.0.0.1:" in agent.message
    assert "did not answer (cannot connect for GET https://127.0.0.1:" in agent.message
    assert raw.status == "ok" and raw.data["url"].startswith(agent.data["node"]["url"] + "/finesse/api/ChatConfig")
    lost = step(without, "fin-a")
    assert lost.status == "failed"
    assert lost.message.startswith("no Finesse node could serve: 127.0.0.1:")
    assert "(set rest.peers to reach the other node)" in lost.message


def test_without_a_reachable_peer_the_step_stays_and_says_why(tmp_path: Path,
                                                              cluster: Callable[..., LabConfig]) -> None:
    """The single-node lab's SystemInfo names a peer that does not resolve: the step stays where it was."""
    async def go() -> RunReport:
        async with LabAppliance(cluster(hostname="fin-a", finesse_status="OUT_OF_SERVICE")) as lab:
            return await play(tmp_path, {"fin-a": lab}, READY)

    agent = step(run(go()), "fin-a")
    assert agent.status == "changed", agent.message
    assert "no node is IN_SERVICE (primary node fin-a.lab.example.com at 127.0.0.1:" in agent.message
    assert "fin-a-peer.lab.example.com:" in agent.message and "did not answer" in agent.message
    assert agent.message.endswith("): the addressed node]")
    assert not agent.data["node"]["moved"]


def test_a_gws_url_over_2000_characters_is_refused_before_sending(tmp_path: Path,
                                                                   cluster: Callable[..., LabConfig]) -> None:
    long_query = "x" * 1990

    async def go() -> RunReport:
        async with LabAppliance(cluster(hostname="fin-a")) as lab:
            return await play(tmp_path, {"fin-a": lab},
                              "  - name: long\n    rest: {api: gws, path: /api/v2/me, query: {filter: "
                              + long_query + "}}\n    ignore_errors: true\n"
                              "  - name: finesse takes it\n    rest: {path: /finesse/api/ChatConfig, query: {q: "
                              + long_query + "}}\n")

    report = run(go())
    long, finesse = step(report, "fin-a", 0), step(report, "fin-a", 1)
    assert long.status == "ignored"
    assert long.message.startswith("refused before sending: GET https://127.0.0.1:")
    assert "would be a URL of 2,0" in long.message and "takes at most 2,000 (Genesys Web Services" in long.message
    assert "'Ensure that the entire URL request does not exceed 2000 characters'" in long.message
    assert "the characters come from query parameter 'filter' (1,997), the base https://127.0.0.1:" in long.message
    transcript = (tmp_path / "collected" / report.run_id / "fin-a" / "transcript.log").read_text()
    assert "/api/v2/me" not in transcript  # nothing was sent
    assert finesse.status == "ok"  # the limit is GWS's: Finesse took the same query


def test_the_url_limit_counts_the_encoded_url_and_sends_nothing() -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"statusCode": 0})

    endpoint = Endpoint("gws-1", "https://gws.example.com:8443", "u", Secret("p"), max_url_length=2000,
                        max_url_source="seed 002")

    async def go() -> None:
        async with RestClient(endpoint, transport=httpx.MockTransport(answer)) as client:
            fits = 2000 - len("https://gws.example.com:8443/api/v2/me?q=")
            await client.request("GET", "/api/v2/me", query={"q": "a" * fits})
            with pytest.raises(URLTooLong, match=r"a URL of 2,001 characters.*at most 2,000 \(seed 002\)"):
                await client.request("GET", "/api/v2/me", query={"q": "a" * (fits + 1)})
            with pytest.raises(URLTooLong, match=r"query parameter 'q' \(2,402\)"):
                await client.request("GET", "/api/v2/me", query={"q": "é" * 400})  # each is %C3%A9

    run(go())
    assert len(sent) == 1 and len(str(sent[0].url)) == 2000


def test_rest_peers_in_the_inventory(tmp_path: Path) -> None:
    assert RestFields.split_peer("10.1.1.11") == ("10.1.1.11", None)
    assert RestFields.split_peer("fin-b.example.com:8445") == ("fin-b.example.com", 8445)
    assert RestFields.split_peer("[fd00::2]:9443") == ("fd00::2", 9443)
    assert RestFields.split_peer("fd00::2") == ("fd00::2", None)
    for bad in ("https://fin-b", "fin-b:http", "fin-b:70000", "two words"):
        with pytest.raises(ValueError, match="peer"):
            RestFields(peers=[bad])
    path = tmp_path / "inventory.yaml"
    path.write_text("defaults: {username: admin, password: env:X, rest: {port: 9445}}\n"
                    "hosts:\n  fin-a: {address: 10.1.1.10, rest: {peers: ['10.1.1.11', '[fd00::2]:8445']}}\n"
                    "  gws-only: {address: 10.1.1.12}\n")
    inventory = load_inventory(path)
    finesse = endpoint_for(inventory.hosts["fin-a"], "finesse", None)
    assert finesse.peers == ("https://10.1.1.11:9445", "https://[fd00::2]:8445") and finesse.failover
    gws = endpoint_for(inventory.hosts["fin-a"], "gws", None)
    assert gws.peers == () and not gws.failover and gws.max_url_length == 2000
    assert endpoint_for(inventory.hosts["gws-only"], "finesse", None).peers == ()


def _system_info(status: str, primary: str = "fin-a.example.com", secondary: str = "fin-b.example.com") -> str:
    return (f"<SystemInfo><status>{status}</status><primaryNode><host>{primary}</host></primaryNode>"
            f"<secondaryNode><host>{secondary}</host></secondaryNode></SystemInfo>")


def test_route_decisions_by_system_info() -> None:
    """The choices ops.rest.failover makes, on a transport that answers for named nodes (DNS included)."""
    from ops.rest.failover import NoNodeError, route

    nodes: dict[str, str | None] = {}  # host -> its status, None: does not answer
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.host)
        status = nodes.get(request.url.host)
        if status is None:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, text=_system_info(status), headers={"content-type": "application/xml"})

    def client(host: str, peers: tuple[str, ...] = ()) -> RestClient:
        endpoint = Endpoint(host.split(".")[0], f"https://{host}:8445", "admin", Secret("pw"), failover=True,
                            peers=peers)
        return RestClient(endpoint, transport=httpx.MockTransport(answer))

    async def go() -> None:
        # The secondary, addressed: configuration goes to the primary SystemInfo names, on the same port.
        nodes.update({"fin-a.example.com": "IN_SERVICE", "fin-b.example.com": "IN_SERVICE"})
        async with client("fin-b.example.com") as http:
            chosen = await route(http, "primary")
            assert chosen.moved and chosen.node.base_url == "https://fin-a.example.com:8445"
            assert chosen.why == ("secondary node fin-b.example.com:8445 refuses configuration (Finesse: 403 on the "
                                  "secondary)")
            assert http.base_url == "https://fin-a.example.com:8445"
            asked.clear()
            assert (await route(http, "primary")) is chosen and asked == []  # once a run
            assert (await route(http, "addressed")).node.base_url == "https://fin-b.example.com:8445"
            assert http.base_url == "https://fin-b.example.com:8445"
            assert not (await route(http, "in_service")).moved  # the secondary serves agents
        # A primary out of service still takes configuration; agents' calls move to the secondary.
        nodes["fin-a.example.com"] = "OUT_OF_SERVICE"
        async with client("fin-a.example.com") as http:
            config = await route(http, "primary")
            assert not config.moved and "configuration goes to it all the same" in config.why
            agents = await route(http, "in_service")
            assert agents.moved and agents.node.role == "secondary"
            assert agents.why == "primary node fin-a.example.com:8445 is OUT_OF_SERVICE"
        # Nothing answers: the step is told what each node said.
        nodes.clear()
        async with client("fin-a.example.com", peers=("https://10.1.1.11:8445",)) as http:
            with pytest.raises(NoNodeError, match=r"as a node that is IN_SERVICE: .*fin-a.example.com:8445 did not "
                                                  r"answer .*10.1.1.11:8445 did not answer"):
                await route(http, "in_service")

    run(go())
