"""Pure parsing of Finesse REST bodies (captured shapes in tests/fixtures/rest/) and the generic XML mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.parsers.finesse import FinesseParseError, not_in_service, parse_performance, parse_system_info, parse_user
from ops.rest.finesse import user_state_body
from ops.rest.http import Response, RestParseError

FIXTURES = Path(__file__).parent / "fixtures" / "rest"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_system_info_in_service() -> None:
    info = parse_system_info(fixture("system_info_in_service.xml"))
    assert info["status"] == "IN_SERVICE" and info["in_service"]
    assert info["deployment_type"] == "UCCE"
    assert info["current_timestamp"] == "2026-11-25T10:15:02.118Z"
    assert info["timezone_offset"] == -300
    assert info["nodes"] == [
        {"role": "primary", "host": "fin-a.example.com", "https_port": 8445, "xmpp_port": 5222,
         "xmpp_secure_port": 7443},
        {"role": "secondary", "host": "fin-b.example.com"}]
    assert [s["active"] for s in info["cti_servers"]] == [True, False]
    assert not_in_service(info, "fin-a") is None


def test_system_info_out_of_service_names_the_node() -> None:
    info = parse_system_info(fixture("system_info_out_of_service.xml"))
    message = not_in_service(info, "fin-a")
    assert message == ("Finesse node fin-a (fin-a.example.com, primary node) is OUT_OF_SERVICE, not IN_SERVICE: "
                       "CTI connection lost")


def test_performance_from_the_published_sample() -> None:
    perf = parse_performance(fixture("performance_seed.xml"))
    metrics = perf["metrics"]
    assert metrics["heap_used_bytes"] == 109441280
    assert metrics["threads"] == 183 and metrics["peak_threads"] == 183
    assert metrics["load_average"] == 1.47
    assert metrics["agents_logged_in"] == 0 and metrics["calls_current"] == 0
    assert metrics["calls_received_or_initiated"] == 0 and metrics["queue_decoding_responses"] == 0
    assert len(metrics) == len(perf["properties"]) == 15
    assert "Running Totals/Calls Received or Initiated" in perf["properties"]


def test_performance_error_return_code() -> None:
    text = '<dp:GetPerformanceInformationReply ReturnCode="3" xmlns:dp="urn:x"/>'
    with pytest.raises(FinesseParseError, match="ReturnCode=3"):
        parse_performance(text)


def test_user() -> None:
    user = parse_user(fixture("user_not_ready.xml"))
    assert (user["id"], user["state"], user["reason_code_id"], user["extension"]) == ("1001001", "NOT_READY", 12,
                                                                                        "1001")
    assert user["raw"]["teamName"] == "Support"


@pytest.mark.parametrize("text,match", [
    ("<SystemInfo><status>IN_SERVICE</status>", "malformed XML"),
    ("<User><state>READY</state></User>", "expected a <SystemInfo> document, got <User>"),
    ("<SystemInfo><deploymentType>UCCE</deploymentType></SystemInfo>", "no <status>"),
    ("", "malformed XML"),
])
def test_system_info_errors_say_what_was_wrong(text: str, match: str) -> None:
    with pytest.raises(FinesseParseError, match=match):
        parse_system_info(text, "SystemInfo from fin-a")


def test_response_parsing_by_content_type() -> None:
    xml = Response("GET", "https://h/x", 200, "OK", {"content-type": "application/xml;charset=UTF-8"},
                   '<ChatConfig a="1"><chatServer>c</chatServer><x>1</x><x>2</x></ChatConfig>')
    assert xml.parsed() == {"ChatConfig": {"@a": "1", "chatServer": "c", "x": ["1", "2"]}}
    js = Response("GET", "https://h/v", 200, "OK", {"content-type": "application/json"}, '{"statusCode": 0}')
    assert js.parsed() == {"statusCode": 0}
    bad = Response("GET", "https://h/v", 200, "OK", {"content-type": "application/json"}, '{"statusCode": 0')
    with pytest.raises(RestParseError, match=r"malformed JSON from GET https://h/v \(HTTP 200\)"):
        bad.parsed()


def test_user_state_body_escapes() -> None:
    assert user_state_body("NOT_READY", 12) == "<User><state>NOT_READY</state><reasonCodeId>12</reasonCodeId></User>"
    assert user_state_body("READY") == "<User><state>READY</state></User>"
