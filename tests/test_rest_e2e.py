"""REST steps end to end: playbooks against lab appliances over real HTTPS on loopback.

The inventories here reach running labs the way they would reach real appliances: address,
REST port, the lab CA as `ca_bundle`, passwords as `env:` references.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.inventory import load_inventory
from ops.lab.server import LabAppliance, LabConfig
from ops.playbook import load_playbook
from ops.report import HostRecord, RunReport
from ops.runner import RunOptions, run_playbook
from tests.helpers import REPO, run

UI_PASSWORD = "Finesse-UI-Pw-5521"
AGENT_PASSWORD = "Agent-Pw-7730"


@pytest.fixture
def rest_lab(lab_env: Callable[..., LabConfig], monkeypatch: pytest.MonkeyPatch) -> Callable[..., LabConfig]:
    """lab_env's configs, plus the REST passwords the inventories here reference."""
    monkeypatch.setenv("OPS_TEST_UI_PW", UI_PASSWORD)
    monkeypatch.setenv("OPS_TEST_AGENT_PW", AGENT_PASSWORD)
    monkeypatch.setenv("OPS_TEST_WRONG_PW", "Not-The-Password-1")

    def make(**kw: Any) -> LabConfig:
        kw.setdefault("ui_password", UI_PASSWORD)
        kw.setdefault("agent_password", AGENT_PASSWORD)
        kw.setdefault("gws_delay", 0.1)
        return lab_env(**kw)

    return make


def inventory(tmp_path: Path, labs: dict[str, LabAppliance], *, ui_password: str = "env:OPS_TEST_UI_PW",
              ca: bool = True) -> Path:
    lines = ["defaults:", "  username: admin", "  password: env:OPS_TEST_PW", "  rest:",
             "    username: admin", f"    password: {ui_password}", "    gws_username: ksippo",
             "    gws_password: env:OPS_TEST_AGENT_PW", "    timeout: 5",
             "groups:", f"  finesse: {{hosts: [{', '.join(labs)}]}}", "hosts:"]
    for name, lab in labs.items():
        lines += [f"  {name}:", f"    address: {lab.host}", f"    port: {lab.port}",
                  f"    host_key: {lab.host_key_fingerprint()}",
                  f"    rest: {{port: {lab.rest_port}, gws_port: {lab.rest_port}"
                  + (f", ca_bundle: {lab.rest_ca_path}" if ca else "") + "}"]
    path = tmp_path / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def playbook(tmp_path: Path, steps: str, name: str = "pb.yaml") -> Path:
    path = tmp_path / name
    path.write_text("name: rest test\nhosts: finesse\nsteps:\n" + steps)
    return path


async def play(tmp_path: Path, labs: dict[str, LabAppliance], steps: str, **kw: Any) -> RunReport:
    inv = load_inventory(inventory(tmp_path, labs, **kw))
    book = load_playbook(playbook(tmp_path, steps), inv)
    return await run_playbook(book, inv, RunOptions(output=tmp_path / "collected", command_timeout=20))


def steps_of(host: HostRecord) -> dict[str, Any]:
    return {s.name: s for s in host.steps}


EVERY_STEP = """\
  - name: info
    finesse_system_info: {}
    register: info
  - name: perf
    finesse_performance: {max: {threads: 500}}
    register: perf
  - name: not ready
    when: info.status == "IN_SERVICE" and perf.metrics.threads < 500
    finesse_user_state: {user: "1001001", state: NOT_READY, reason_code: 12, username: "1001001",
                         password: "env:OPS_TEST_AGENT_PW"}
    register: nr
  - name: read back with a plain rest step
    rest: {method: GET, path: /finesse/api/User/1001001, bypass_cache: true}
    register: user
  - name: ready (as the admin)
    when: user.body.User.state == "NOT_READY"
    finesse_user_state: {user: "1001001", state: READY}
  - name: gws version
    gws_version: {}
    register: gws
  - name: me
    gws_me: {}
    register: me
  - name: gws ready
    gws_voice: {operation: Ready, timeout: 5, interval: 0.05}
    register: voice
  - name: gws any call
    rest: {api: gws, method: POST, path: /api/v2/me/channels/voice, json: {operationName: NotReady}}
    register: raw
"""


def test_every_step_over_https(tmp_path: Path, rest_lab: Callable[..., LabConfig]) -> None:
    async def go() -> tuple[RunReport, LabAppliance]:
        async with LabAppliance(rest_lab(hostname="fin-a")) as lab:
            report = await play(tmp_path, {"fin-a": lab}, EVERY_STEP)
            assert lab.rest is not None
            return report, lab

    report, lab = run(go())
    host = report.hosts["fin-a"]
    assert host.status == "ok", host.error
    steps = steps_of(host)
    info = steps["info"].data
    assert info["status"] == "IN_SERVICE" and info["deployment_type"] == "UCCE"
    assert [n["role"] for n in info["nodes"]] == ["primary", "secondary"]
    assert info["nodes"][0]["host"].startswith("fin-a.")
    assert steps["perf"].data["metrics"]["heap_used_bytes"] == 109441280
    assert steps["not ready"].status == "changed"
    assert steps["not ready"].data["state"] == "NOT_READY" and steps["not ready"].data["reason_code_id"] == 12
    assert steps["read back with a plain rest step"].data["status"] == 200
    assert "bypassServerCache=true" in steps["read back with a plain rest step"].data["url"]
    assert steps["ready (as the admin)"].status == "changed"
    assert steps["gws version"].data["version"] == "8.5.201.09"
    assert steps["me"].data["user"]["userName"] == "ksippo"
    voice = steps["gws ready"].data
    assert (voice["previous_state"], voice["state"], voice["status_code"]) == ("NotReady", "Ready", 0)
    assert voice["waited_s"] > 0  # the lab changes the state asynchronously
    assert steps["gws any call"].data["body"] == {"statusCode": 0}
    transcript = (tmp_path / "collected" / report.run_id / "fin-a" / "transcript.log").read_text()
    assert "rest: GET https://127.0.0.1:" in transcript and "/finesse/api/SystemInfo -> 200" in transcript


def test_wrong_credentials_fail_clearly_without_the_password(tmp_path: Path,
                                                              rest_lab: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(rest_lab()) as lab:
            return await play(tmp_path, {"n1": lab}, "  - name: info\n    finesse_system_info: {}\n"
                              "  - name: me\n    gws_me: {username: jdoe, password: env:OPS_TEST_WRONG_PW}\n"
                              "    ignore_errors: true\n", ui_password="env:OPS_TEST_WRONG_PW")

    report = run(go())
    host = report.hosts["n1"]
    assert host.status == "failed"
    message = host.steps[0].message
    assert "HTTP 401" in message and "credentials of 'admin' were refused" in message
    assert "/finesse/api/SystemInfo" in message
    assert "Not-The-Password-1" not in (tmp_path / "collected" / report.run_id / "report.json").read_text()


def test_lockout_after_five_failures_and_unlock_by_the_double_reset(tmp_path: Path,
                                                                    rest_lab: Callable[..., LabConfig]) -> None:
    wrong = "".join(f"  - name: wrong {i}\n    finesse_system_info: {{}}\n    ignore_errors: true\n" for i in range(5))

    async def go() -> tuple[RunReport, RunReport, RunReport, LabAppliance]:
        async with LabAppliance(rest_lab()) as lab:
            first = await play(tmp_path, {"n1": lab}, wrong, ui_password="env:OPS_TEST_WRONG_PW")
            assert lab.admin_ui.locked
            locked = await play(tmp_path, {"n1": lab}, "  - name: right but locked\n    finesse_system_info: {}\n")
            unlocked = await play(tmp_path, {"n1": lab},
                                  "  - name: unlock\n    ui_password_reset: {password: env:OPS_TEST_UI_PW}\n"
                                  "  - name: info\n    finesse_system_info: {}\n")
            return first, locked, unlocked, lab

    first, locked, unlocked, lab = run(go())
    assert [s.status for s in first.hosts["n1"].steps] == ["ignored"] * 5
    assert "HTTP 401" in locked.hosts["n1"].steps[0].message  # the right password, refused while locked
    host = unlocked.hosts["n1"]
    assert host.status == "ok", host.error
    assert lab.admin_ui.resets == 2 and lab.admin_ui.check_password(UI_PASSWORD)
    assert steps_of(host)["info"].data["status"] == "IN_SERVICE"


def test_webproxy_cache_with_and_without_bypass(tmp_path: Path, rest_lab: Callable[..., LabConfig]) -> None:
    get = "    rest: {path: /finesse/api/ChatConfig}\n    register: r%d\n"

    async def go() -> RunReport:
        async with LabAppliance(rest_lab()) as lab:
            assert lab.rest is not None
            await play(tmp_path, {"n1": lab}, "  - name: prime\n" + get % 0)
            lab.rest.state.chat_server = "chat2.lab.example.com"
            return await play(tmp_path, {"n1": lab},
                              "  - name: cached\n" + get % 1
                              + "  - name: bypass\n    rest: {path: /finesse/api/ChatConfig, bypass_cache: true}\n"
                              + "  - name: still cached\n" + get % 2
                              + "  - name: clear\n    webproxy_cache_clear: {cache: rest}\n"
                              + "  - name: after clear\n" + get % 3)

    report = run(go())
    host = report.hosts["n1"]
    assert host.status == "ok", host.error
    server = {name: s.data["body"]["ChatConfig"]["chatServer"] for name, s in steps_of(host).items()
              if name != "clear"}
    assert server == {"cached": "chat.lab.example.com", "bypass": "chat2.lab.example.com",
                      "still cached": "chat.lab.example.com", "after clear": "chat2.lab.example.com"}


def test_status_code_zero_without_a_change_fails(tmp_path: Path, rest_lab: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(rest_lab(agent_state_stuck=True)) as lab:
            return await play(tmp_path, {"n1": lab},
                              "  - name: gws\n    gws_voice: {operation: Ready, timeout: 0.4, interval: 0.05}\n"
                              "    ignore_errors: true\n"
                              "  - name: finesse\n    finesse_user_state: {user: '1001002', state: READY,"
                              " timeout: 0.3}\n")

    report = run(go())
    gws, fin = report.hosts["n1"].steps
    assert gws.status == "ignored"
    assert "statusCode 0" in gws.message and "still 'NotReady'" in gws.message and "expected 'Ready'" in gws.message
    assert fin.status == "failed" and "still NOT_READY" in fin.message


def test_malformed_bodies_give_clear_errors(tmp_path: Path, rest_lab: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(rest_lab(rest_malformed=True)) as lab:
            return await play(tmp_path, {"n1": lab},
                              "  - name: xml\n    finesse_performance: {}\n    ignore_errors: true\n"
                              "  - name: json\n    gws_version: {}\n    ignore_errors: true\n"
                              "  - name: raw\n    rest: {path: /finesse/api/SystemInfo}\n")

    report = run(go())
    xml, js, raw = report.hosts["n1"].steps
    assert "malformed XML" in xml.message and "GetPerformanceInformation" in xml.message
    assert "malformed JSON from GET https://127.0.0.1:" in js.message and "/api/v2/diagnostics/version" in js.message
    assert raw.status == "failed" and "malformed XML" in raw.message


def test_node_not_in_service_fails_and_says_which(tmp_path: Path, rest_lab: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(rest_lab(hostname="fin-a")) as a, \
                LabAppliance(rest_lab(hostname="fin-b", finesse_role="secondary", finesse_peer="fin-a",
                                      finesse_status="OUT_OF_SERVICE")) as b:
            return await play(tmp_path, {"fin-a": a, "fin-b": b}, "  - name: info\n    finesse_system_info: {}\n")

    report = run(go())
    assert report.hosts["fin-a"].status == "ok"
    assert report.failed_hosts == ["fin-b"]
    assert report.hosts["fin-b"].steps[0].message == (
        "Finesse node fin-b (fin-b.lab.example.com, secondary node) is OUT_OF_SERVICE, not IN_SERVICE: "
        "CTI connection lost")


def test_tls_is_verified_by_default(tmp_path: Path, rest_lab: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(rest_lab()) as lab:
            return await play(tmp_path, {"n1": lab}, "  - name: info\n    finesse_system_info: {}\n", ca=False)

    report = run(go())
    message = report.hosts["n1"].steps[0].message
    assert "CERTIFICATE_VERIFY_FAILED" in message and "rest.ca_bundle" in message


def test_shipped_health_check_on_the_default_inventory(tmp_path: Path) -> None:
    async def go() -> RunReport:
        inv = load_inventory(REPO / "inventory.yaml")
        book = load_playbook(REPO / "playbooks" / "health-check.yaml", inv)
        return await run_playbook(book, inv, RunOptions(output=tmp_path / "collected"))

    report = run(go())
    assert set(report.hosts) == {"finesse-a", "finesse-b"}
    for host in report.hosts.values():
        assert host.status == "ok", host.error
        assert [s.status for s in host.steps] == ["ok", "ok", "ok"]
        assert host.steps[0].data["status"] == "IN_SERVICE"
    # The lab's generated credentials never reach the run directory, in any encoding.
    from ops.secrets import MASKER
    texts = [p.read_text(errors="replace") for p in (tmp_path / "collected").rglob("*") if p.is_file()]
    for value in MASKER.values():
        if value.startswith("lab") or len(value) != 20:
            continue
        for form in (value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe="")):
            assert all(form not in text for text in texts)
