"""`show network status` parsing on captured text: ragged columns, IPv6, names, empty and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.lab.handlers.network import render
from ops.parsers.network_status import NetworkStatusError, parse_network_status, split_endpoint, summarize

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_search_8445_ragged_ipv6_and_mapped() -> None:
    records = parse_network_status(fixture("network-status-nodns-search-8445.txt"))
    assert len(records) == 7
    assert records[2].recv_q == 517 and records[4].send_q == 1448
    ipv6 = records[4]
    assert (ipv6.local_address, ipv6.local_port) == ("2001:db8:10::21", "8445")
    assert (ipv6.remote_address, ipv6.remote_port, ipv6.state) == ("2001:db8:20:0:5054:ff:fe3a:9c1e", "49802",
                                                                   "ESTABLISHED")
    assert records[0].remote_host == "10.10.20.51"
    port = summarize(records)["ports"]["8445"]
    assert port["connections"] == 7
    assert port["states"] == {"ESTABLISHED": 5, "TIME_WAIT": 1, "FIN_WAIT2": 1}
    # 10.10.30.9 appears plain and IPv4-mapped: one client; .77 only in TIME_WAIT besides ESTABLISHED.
    assert port["clients"] == ["10.10.20.51", "10.10.20.77", "10.10.30.9", "2001:db8:20:0:5054:ff:fe3a:9c1e"]
    assert port["remote_clients"] == 4


def test_all_detail_process_with_udp_tcp6_unix_and_cut_program_names() -> None:
    records = parse_network_status(fixture("network-status-all-detail-process.txt"))
    assert len(records) == 13  # the UNIX domain section is not parsed
    listen = records[2]
    assert (listen.local_address, listen.local_port, listen.remote_port, listen.state) == ("::", "8445", "*", "LISTEN")
    assert (listen.user, listen.inode, listen.pid, listen.program) == ("502", 31342, 4721, "java")
    udp = records[5]
    assert (udp.proto, udp.state, udp.user, udp.pid, udp.program) == ("udp", "", "38", 1702, "ntpd")
    assert records[7].program == "sshd: admin [" and records[7].pid == 30211
    time_wait = records[9]
    assert (time_wait.state, time_wait.pid, time_wait.program, time_wait.inode) == ("TIME_WAIT", None, None, 0)
    assert records[10].proto == "tcp6"
    summary = summarize(records)
    assert summary["ports"]["8445"]["listening"] and summary["ports"]["123"]["listening"]
    assert summary["ports"]["7443"]["remote_clients"] == 2  # CLOSE_WAIT is not a client on the port
    assert summary["ports"]["7443"]["states"] == {"ESTABLISHED": 2, "CLOSE_WAIT": 1}
    assert summary["states"]["LISTEN"] == 5 and summary["states"]["-"] == 2


def test_names_without_nodns() -> None:
    listen = parse_network_status(fixture("network-status-listen-dns.txt"))
    assert [(r.local_address, r.local_port) for r in listen][:4] == [
        ("*", "ssh"), ("localhost", "1500"), ("::", "8445"), ("::", "pcsync-https")]
    rows = parse_network_status(fixture("network-status-dns.txt"))
    port = summarize(rows)["ports"]["8445"]
    assert port["clients"] == ["10.10.20.53", "agentpc001.cc.example.com"]


def test_empty_output_is_no_records() -> None:
    assert parse_network_status(fixture("network-status-empty.txt")) == []
    assert summarize([]) == {"connections": 0, "states": {}, "ports": {}}


def test_error_message_raises_with_the_appliance_text() -> None:
    with pytest.raises(NetworkStatusError, match="Invalid option: sorted"):
        parse_network_status(fixture("network-status-error.txt"))


@pytest.mark.parametrize("text,expected", [(":::8445", ("::", "8445")), ("0.0.0.0:*", ("0.0.0.0", "*")),
                                           ("::ffff:10.1.1.10:7443", ("::ffff:10.1.1.10", "7443")),
                                           ("*:ssh", ("*", "ssh"))])
def test_split_endpoint(text: str, expected: tuple[str, str]) -> None:
    assert split_endpoint(text) == expected


def test_lab_population_counts_match_its_configuration() -> None:
    for desktop, xmpp in ((12, 12), (7, 3), (0, 1)):
        summary = summarize(parse_network_status("\n".join(render(5, desktop, xmpp, ["all", "process", "nodns"]))))
        assert summary["ports"].get("8445", {}).get("remote_clients", 0) == desktop
        assert summary["ports"]["7443"]["remote_clients"] == xmpp
