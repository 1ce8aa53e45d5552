"""`finesse_config` end to end: desired state against lab clusters over real HTTPS, the plan on its own,
the lab's configuration APIs, export and diff, and the shipped playbook."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ops.actions import ACTIONS
from ops.actions.finesse_config import Current, FinesseConfigArgs, plan
from ops.inventory import load_inventory
from ops.lab.server import LabAppliance, LabConfig
from ops.playbook import load_playbook
from ops.report import HostRecord, RunReport
from ops.runner import RunOptions, run_playbook
from tests.helpers import REPO, run

UI_PASSWORD = "Finesse-UI-Pw-5521"
AGENT_PASSWORD = "Agent-Pw-7730"


@pytest.fixture
def cluster(lab_env: Callable[..., LabConfig], monkeypatch: pytest.MonkeyPatch) -> Callable[..., LabConfig]:
    """Lab configs with the REST passwords the inventories here reference."""
    monkeypatch.setenv("OPS_TEST_UI_PW", UI_PASSWORD)
    monkeypatch.setenv("OPS_TEST_AGENT_PW", AGENT_PASSWORD)

    def make(**kw: Any) -> LabConfig:
        kw.setdefault("ui_password", UI_PASSWORD)
        kw.setdefault("agent_password", AGENT_PASSWORD)
        return lab_env(**kw)

    return make


@dataclass
class Target:
    """An inventory host reaching one node of a lab: its own port or its peer's, with `rest.peers`."""

    lab: LabAppliance
    peer_node: bool = False  # the host is the lab's peer node
    peers: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        assert self.lab.rest is not None
        return self.lab.rest.peer_port if self.peer_node else self.lab.rest_port


def peer_of(lab: LabAppliance) -> str:
    assert lab.rest is not None and lab.rest.peer_port
    return f"127.0.0.1:{lab.rest.peer_port}"


def inventory(tmp_path: Path, targets: dict[str, Target | LabAppliance]) -> Path:
    lines = ["defaults:", "  username: admin", "  password: env:OPS_TEST_PW", "  rest:",
             "    username: admin", "    password: env:OPS_TEST_UI_PW", "    timeout: 5",
             "    gws_username: ksippo", "    gws_password: env:OPS_TEST_AGENT_PW",
             "groups:", f"  finesse: {{hosts: [{', '.join(targets)}]}}", "hosts:"]
    for name, given in targets.items():
        target = given if isinstance(given, Target) else Target(given)
        lab = target.lab
        peers = f", peers: [{', '.join(target.peers)}]" if target.peers else ""
        lines += [f"  {name}:", f"    address: {lab.host}", f"    port: {lab.port}",
                  f"    host_key: {lab.host_key_fingerprint()}",
                  f"    rest: {{port: {target.port}, gws_port: {lab.rest_port}, ca_bundle: {lab.rest_ca_path}{peers}}}"]
    path = tmp_path / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def play(tmp_path: Path, targets: dict[str, Target | LabAppliance], steps: str,
               extra_vars: dict[str, Any] | None = None) -> RunReport:
    inv = load_inventory(inventory(tmp_path, targets))
    path = tmp_path / "pb.yaml"
    path.write_text("name: finesse config test\nhosts: finesse\nsteps:\n" + steps)
    book = load_playbook(path, inv, extra_vars)
    return await run_playbook(book, inv, RunOptions(output=tmp_path / "collected", command_timeout=20))


def step(report: RunReport, host: str, index: int = 0) -> Any:
    record: HostRecord = report.hosts[host]
    return record.steps[index]


def config_step(body: dict[str, Any], name: str = "config") -> str:
    """A playbook step of `finesse_config` with `body` as its arguments (YAML, so labels are quoted right)."""
    text = yaml.safe_dump([{"name": name, "finesse_config": body}], sort_keys=False)
    return "".join(f"  {line}\n" for line in text.splitlines())


DESIRED: dict[str, Any] = {
    "reason_codes": [
        {"category": "NOT_READY", "code": 10, "label": "Break"},
        {"category": "NOT_READY", "code": 13, "label": "Coaching", "for_all": False},
        {"category": "LOGOUT", "code": 20, "label": "End of shift"},
    ],
    "wrap_up_reasons": [{"label": "Sale"}, {"label": "Complaint", "for_all": False}],
    "phone_books": [
        {"name": "Escalations", "contacts": [{"first_name": "Service", "last_name": "Desk",
                                              "phone_number": "5551000", "description": "Level 2"}]},
        {"name": "Sales book", "type": "TEAM", "contacts": []},
    ],
    "teams": [{"name": "Sales", "reason_codes": [{"category": "NOT_READY", "code": 13}],
               "wrap_up_reasons": ["Complaint"], "phone_books": ["Sales book"]}],
}


def db_view(lab: LabAppliance) -> dict[str, Any]:
    """The lab cluster's configuration by natural key, read from its database (not over REST)."""
    assert lab.rest is not None
    db = lab.rest.state.config
    sales = db.teams["5001"]
    return {
        "reason_codes": {(r.category, r.code): (r.label, r.for_all) for r in db.reason_codes.values()},
        "wrap_up_reasons": {w.label: w.for_all for w in db.wrap_up_reasons.values()},
        "phone_books": {b.name: (b.type, sorted(c.phone_number for c in b.contacts.values()))
                        for b in db.phone_books.values()},
        "sales": (sorted((db.reason_codes[i].category, db.reason_codes[i].code) for i in sales.reason_codes),
                  sorted(db.wrap_up_reasons[i].label for i in sales.wrap_up_reasons),
                  sorted(db.phone_books[i].name for i in sales.phone_books)),
    }


# ---------------------------------------------------------------------- the lab's configuration APIs


def test_lab_serves_configuration_apis_with_realistic_xml(cluster: Callable[..., LabConfig]) -> None:
    async def go() -> None:
        async with LabAppliance(cluster(hostname="fin-a", finesse_peer_node=True, config_max_items=2)) as lab:
            assert lab.rest is not None
            auth = ("admin", UI_PASSWORD)
            trust = ssl.create_default_context(cafile=str(lab.rest_ca_path))
            async with httpx.AsyncClient(verify=trust, auth=auth) as http:
                base = f"https://127.0.0.1:{lab.rest_port}/finesse/api"
                peer = f"https://{peer_of(lab)}/finesse/api"
                body = ("<ReasonCode><category>NOT_READY</category><code>12</code><label>Lunch</label>"
                        "<forAll>false</forAll></ReasonCode>")
                created = await http.post(f"{base}/ReasonCode", content=body)
                assert created.status_code == 200 and created.text == ""
                assert created.headers["location"].endswith("/finesse/api/ReasonCode/1")
                listed = await http.get(f"{base}/ReasonCodes", params={"category": "NOT_READY"})
                assert listed.text.endswith(
                    '<ReasonCodes category="NOT_READY"><ReasonCode><uri>/finesse/api/ReasonCode/1</uri>'
                    "<category>NOT_READY</category><code>12</code><label>Lunch</label><forAll>false</forAll>"
                    "<systemCode>false</systemCode></ReasonCode></ReasonCodes>")
                twice = await http.post(f"{base}/ReasonCode", content=body.replace("Lunch", "Lunch 2"))
                assert twice.status_code == 400
                assert "<ErrorType>Finesse API Error</ErrorType>" in twice.text and "code 12 already" in twice.text
                same_label = await http.post(f"{base}/ReasonCode", content=body.replace("12", "14"))
                assert "label Lunch already exists" in same_label.text
                await http.post(f"{base}/ReasonCode", content=body.replace("12", "15").replace("Lunch", "B"))
                over = await http.post(f"{base}/ReasonCode", content=body.replace("12", "16").replace("Lunch", "C"))
                assert over.status_code == 400 and "<ErrorType>Maximum Exceeded</ErrorType>" in over.text
                # The peer node: its own SystemInfo naming this one, reads served, changes refused.
                info = (await http.get(f"{peer}/SystemInfo")).text
                assert "<primaryNode><host>fin-a.lab.example.com</host>" in info
                assert "<secondaryNode><host>fin-a-peer.lab.example.com</host>" in info
                assert (await http.get(f"{peer}/ReasonCodes", params={"category": "ALL"})).text.count("<uri>") == 2
                refused = await http.post(f"{peer}/WrapUpReason",
                                          content="<WrapUpReason><label>X</label><forAll>true</forAll></WrapUpReason>")
                assert refused.status_code == 403 and "<ErrorType>Forbidden</ErrorType>" in refused.text
                assert "cannot be run against the secondary Finesse server" in refused.text
                teams = (await http.get(f"{base}/Teams")).text
                assert "<Team><uri>/finesse/api/Team/5001</uri><id>5001</id><name>Sales</name></Team>" in teams
                # TeamResource is cached per node; a team change clears that team's (seed 001).
                resource = f"{base}/TeamResource/5001/ReasonCodes"
                first = await http.get(resource, params={"category": "NOT_READY"})
                assert "<label>Lunch</label>" not in first.text  # team code, not assigned yet
                put = await http.put(f"{base}/Team/5001/ReasonCodes", params={"category": "NOT_READY"},
                                     content="<ReasonCodes><ReasonCode><uri>/finesse/api/ReasonCode/1</uri>"
                                             "</ReasonCode></ReasonCodes>")
                assert put.status_code == 200
                assert "<label>Lunch</label>" in (await http.get(resource, params={"category": "NOT_READY"})).text
                # Agents of the team read it too; an agent of another team may not; the admin account is untouched.
                member = await http.get(resource, params={"category": "NOT_READY"}, auth=("1001001", AGENT_PASSWORD))
                assert member.status_code == 200 and member.headers.get("x-cache") == "HIT"
                other = await http.get(resource, params={"category": "NOT_READY"}, auth=("1001003", AGENT_PASSWORD))
                assert other.status_code == 401 and lab.admin_ui.failures == 0
                missing = await http.get(f"{base}/Team/9999/ReasonCodes", params={"category": "NOT_READY"})
                assert missing.status_code == 404 and "team_assignment_invalid_team" in missing.text

    run(go())


# ---------------------------------------------------------------------- the plan, without a network


def test_plan_matches_by_natural_key_and_orders_safely() -> None:
    current = Current(
        reason_codes={("NOT_READY", 10): {"id": "7", "label": "Pause", "for_all": True},
                      ("NOT_READY", 99): {"id": "8", "label": "Old", "for_all": False},
                      ("LOGOUT", 20): {"id": "9", "label": "End of shift", "for_all": True}},
        wrap_up_reasons={"Sale": {"id": "3", "label": "Sale", "for_all": True}},
        phone_books={},
        teams={"Sales": {"id": "5001", "name": "Sales", "reason_codes": {("NOT_READY", 99)},
                         "wrap_up_reasons": set(), "phone_books": set()}})
    args = FinesseConfigArgs.model_validate({
        "prune": True,
        "reason_codes": [{"category": "NOT_READY", "code": 10, "label": "Break"},
                         {"category": "NOT_READY", "code": 13, "label": "Coaching", "forAll": False},
                         {"category": "LOGOUT", "code": 20, "label": "End of shift"}],
        "wrap_up_reasons": [{"label": "Sale"}],
        "teams": [{"name": "Sales", "reason_codes": [{"category": "NOT_READY", "code": 13}]}]})
    result = plan(args, current)
    assert [(c.op, c.kind) for c in result.changes] == [
        ("unassign", "team"), ("delete", "reason code"), ("update", "reason code"), ("create", "reason code"),
        ("assign", "team")]
    assert result.diff() == [
        '- reason code NOT_READY 99 "Old": prune',
        '~ reason code NOT_READY 10 "Pause": label "Pause" -> "Break"',
        '+ reason code NOT_READY 13: "Coaching" (team)',
        '~ team "Sales" reason codes: + NOT_READY 13, - NOT_READY 99',
        "1 to create, 3 to update, 1 to delete; 2 unchanged"]
    kept = plan(args.model_copy(update={"prune": False}), current)
    assert "  kept (prune is false): reason code NOT_READY 99 \"Old\"" in kept.diff()
    assert not any(c.op == "delete" for c in kept.changes)


def test_arguments_are_checked_before_anything_runs() -> None:
    model = ACTIONS["finesse_config"].Args
    with pytest.raises(ValueError, match="reason code given twice: NOT_READY 10"):
        model.model_validate({"reason_codes": [{"category": "NOT_READY", "code": 10, "label": "A"},
                                               {"category": "NOT_READY", "code": 10, "label": "B"}]})
    with pytest.raises(ValueError, match="is global .* teams are given non-global ones"):
        model.model_validate({"reason_codes": [{"category": "NOT_READY", "code": 10, "label": "A"}],
                              "teams": [{"name": "Sales", "reason_codes": [{"category": "NOT_READY", "code": 10}]}]})
    with pytest.raises(ValueError, match="label"):
        model.model_validate({"reason_codes": [{"category": "NOT_READY", "code": 10, "label": "x" * 41}]})
    with pytest.raises(ValueError, match="plain text"):
        model.model_validate({"wrap_up_reasons": [{"label": "two\nlines"}]})
    with pytest.raises(ValueError, match="Extra inputs"):
        model.model_validate({"reason_code": []})


# ---------------------------------------------------------------------- end to end against the lab


def test_create_update_prune_and_a_second_run_that_does_nothing(tmp_path: Path,
                                                                 cluster: Callable[..., LabConfig]) -> None:
    changed = {**DESIRED, "prune": True,
               "reason_codes": [{"category": "NOT_READY", "code": 10, "label": "Short break"},
                                {"category": "NOT_READY", "code": 13, "label": "Coaching", "for_all": False},
                                {"category": "LOGOUT", "code": 21, "label": "Shift over"}],
               "wrap_up_reasons": [{"label": "Sale", "for_all": False}, {"label": "Complaint", "for_all": False}],
               "teams": [{"name": "Sales", "reason_codes": [], "wrap_up_reasons": ["Complaint", "Sale"],
                          "phone_books": ["Sales book"]}]}

    async def go() -> tuple[list[RunReport], list[dict[str, Any]]]:
        async with LabAppliance(cluster(hostname="fin-a")) as lab:
            reports, views = [], []
            for body in (DESIRED, DESIRED, changed, changed):
                reports.append(await play(tmp_path, {"fin-a": lab}, config_step(body)))
                views.append(db_view(lab))
            return reports, views

    (create, again, update, settled), views = run(go())
    first = step(create, "fin-a")
    assert first.status == "changed", first.message
    assert first.message.startswith("8 created, 3 updated, 0 deleted on primary node fin-a.lab.example.com")
    assert "confirmed by reading back" in first.message
    assert views[0] == {
        "reason_codes": {("NOT_READY", 10): ("Break", True), ("NOT_READY", 13): ("Coaching", False),
                         ("LOGOUT", 20): ("End of shift", True)},
        "wrap_up_reasons": {"Sale": True, "Complaint": False},
        "phone_books": {"Escalations": ("GLOBAL", ["5551000"]), "Sales book": ("TEAM", [])},
        "sales": ([("NOT_READY", 13)], ["Complaint"], ["Sales book"])}
    assert [a["op"] for a in first.data["applied"]] == ["create"] * 8 + ["assign"] * 3
    second = step(again, "fin-a")
    assert second.status == "ok" and second.message.startswith("nothing to do on primary node fin-a")
    assert second.data["applied"] == [] and views[1] == views[0]
    third = step(update, "fin-a")
    assert third.status == "changed", third.message
    assert third.data["diff"] == [  # in the order they are made: off teams, delete, update, create, onto teams
        '~ team "Sales" reason codes: - NOT_READY 13',
        '- reason code LOGOUT 20 "End of shift": prune',
        '~ reason code NOT_READY 10 "Break": label "Break" -> "Short break"',
        '~ wrap-up reason "Sale": forAll true -> false',
        '+ reason code LOGOUT 21: "Shift over" (global)',
        '~ team "Sales" wrap-up reasons: + "Sale"',
        "1 to create, 4 to update, 1 to delete; 6 unchanged"]
    assert views[2]["reason_codes"] == {("NOT_READY", 10): ("Short break", True),
                                        ("NOT_READY", 13): ("Coaching", False), ("LOGOUT", 21): ("Shift over", True)}
    assert views[2]["sales"] == ([], ["Complaint", "Sale"], ["Sales book"])
    fourth = step(settled, "fin-a")
    assert fourth.status == "ok" and fourth.data["applied"] == [] and views[3] == views[2]


def test_plan_only_and_check_change_nothing(tmp_path: Path, cluster: Callable[..., LabConfig]) -> None:
    async def go() -> tuple[RunReport, dict[str, Any], Any]:
        async with LabAppliance(cluster(hostname="fin-a")) as lab:
            report = await play(tmp_path, {"fin-a": lab}, config_step({**DESIRED, "plan_only": True}))
            before = db_view(lab)
            # The hook `ops run --check` is to call (ops.runner does not yet): the same plan, nothing sent.
            inv = load_inventory(inventory(tmp_path, {"fin-a": lab}))
            book = load_playbook(tmp_path / "pb.yaml", inv)
            action = ACTIONS["finesse_config"]
            assert getattr(action, "check_mode", False)

            class Probe:  # what the runner's HostRun gives a step, REST only
                host = inv.hosts["fin-a"]
                host_dir = tmp_path / "collected" / "probe" / "fin-a"

                def __init__(self) -> None:
                    from ops.rest.http import RestClient
                    from ops.targets import prepare

                    self.client = RestClient(prepare(self.host, base_dir=inv.base_dir, rest=True).endpoint("finesse"))

                def rest(self, api: str = "finesse") -> Any:
                    return self.client

            probe = Probe()
            try:
                checked = await action.check(probe, book.steps[0].args_for({}))  # type: ignore[attr-defined]
            finally:
                await probe.client.aclose()
            return report, before, (checked, db_view(lab))

    report, before, (checked, after) = run(go())
    planned = step(report, "fin-a")
    assert planned.status == "ok" and "plan only: nothing changed" in planned.message
    assert planned.data["counts"] == {"create": 8, "update": 3, "delete": 0, "unchanged": 0, "kept": 0}
    assert planned.data["output"].splitlines()[0] == '+ reason code NOT_READY 10: "Break" (global)'
    assert before["reason_codes"] == {} and before["wrap_up_reasons"] == {} and before["phone_books"] == {}
    assert checked.data["diff"] == planned.data["diff"] and not checked.changed
    assert after == before


def test_api_errors_fail_the_step_with_their_type_and_message(tmp_path: Path,
                                                              cluster: Callable[..., LabConfig]) -> None:
    duplicate_label = {"reason_codes": [{"category": "NOT_READY", "code": 11, "label": "Lunch"}]}
    clash = {"reason_codes": [{"category": "NOT_READY", "code": 40, "label": "Lunch"}]}
    three = {"wrap_up_reasons": [{"label": "A"}, {"label": "B"}, {"label": "C"}]}

    async def go() -> tuple[RunReport, RunReport]:
        async with LabAppliance(cluster(hostname="fin-a", config_max_items=2)) as lab:
            await play(tmp_path, {"fin-a": lab}, config_step(duplicate_label))
            refused = await play(tmp_path, {"fin-a": lab}, config_step(clash))
            over = await play(tmp_path, {"fin-a": lab}, config_step(three))
            return refused, over

    refused, over = run(go())
    dup = step(refused, "fin-a")
    assert dup.status == "failed"
    assert dup.message.startswith('+ reason code NOT_READY 40: "Lunch" (global): Finesse refused it with HTTP 400 '
                                  "Finesse API Error: A NOT_READY reason code with label Lunch already exists (Lunch)")
    assert dup.message.endswith("nothing was changed before it")
    assert dup.data["api_error"] == {"status": 400, "ErrorType": "Finesse API Error",
                                     "ErrorMessage": "A NOT_READY reason code with label Lunch already exists",
                                     "ErrorData": "Lunch"}
    maximum = step(over, "fin-a")
    assert maximum.status == "failed" and "HTTP 400 Maximum Exceeded" in maximum.message
    assert maximum.message.endswith("2 change(s) made before it")
    assert [a["key"] for a in maximum.data["applied"]] == ['"A"', '"B"']


def test_configuration_goes_to_the_primary_and_the_secondary_refuses_it(tmp_path: Path,
                                                                       cluster: Callable[..., LabConfig]) -> None:
    body = {"wrap_up_reasons": [{"label": "Sale"}]}

    async def go() -> tuple[RunReport, RunReport, LabAppliance]:
        # The inventory addresses the secondary; SystemInfo says so, rest.peers reaches the primary.
        async with LabAppliance(cluster(hostname="fin-b", finesse_role="secondary", finesse_peer="fin-a",
                                        finesse_peer_node=True)) as lab:
            moved = await play(tmp_path, {"fin-b": Target(lab, peers=[peer_of(lab)])}, config_step(body))
            # An address SystemInfo does not name, no peers: the step cannot tell, tries, and Finesse says no.
            (tmp_path / "2").mkdir()
            refused = await play(tmp_path / "2", {"node-2": lab}, config_step({"wrap_up_reasons": [{"label": "X"}]}))
            return moved, refused, lab

    moved, refused, lab = run(go())
    ok = step(moved, "fin-b")
    assert ok.status == "changed", ok.message
    assert "on primary node fin-a.lab.example.com at 127.0.0.1:" in ok.message
    assert "[via primary node fin-a.lab.example.com" in ok.message
    assert "secondary node fin-b.lab.example.com at 127.0.0.1:" in ok.message
    assert "refuses configuration (Finesse: 403 on the secondary)" in ok.message
    assert ok.data["node"]["moved"] and ok.data["node"]["role"] == "primary"
    no = step(refused, "node-2")
    assert no.status == "failed"
    assert ("Finesse refused it with HTTP 403 Forbidden: Configuration APIs cannot be run against the secondary "
            "Finesse server.") in no.message
    assert "cannot tell which node this is" in no.message


def test_the_webproxy_cache_after_global_and_team_changes(tmp_path: Path, cluster: Callable[..., LabConfig]) -> None:
    """Seed 001: Finesse clears a team's TeamResource when its own items change; after a global change
    the step clears the REST cache, unless told never to (then it says the cache may be stale)."""
    resource = ("  - name: read\n    rest: {path: /finesse/api/TeamResource/5001/WrapUpReasons}\n"
                "    register: seen\n")

    def labels(report: RunReport) -> list[str]:
        items = step(report, "fin-a", 1).data["body"]["WrapUpReasons"]["WrapUpReason"]
        return sorted(i["label"] for i in (items if isinstance(items, list) else [items]))

    async def go() -> list[RunReport]:
        async with LabAppliance(cluster(hostname="fin-a")) as lab:
            reports = []
            for label, mode in (("Sale", "never"), ("Sale (new)", "never"), ("Sale (new)", "auto"),
                                ("Sale (newer)", "auto")):
                body = {"wrap_up_reasons": [{"label": label}, {"label": "Team only", "for_all": False}],
                        "teams": [{"name": "Sales", "wrap_up_reasons": ["Team only"]}], "prune": True,
                        "clear_cache": mode}
                reports.append(await play(tmp_path, {"fin-a": lab}, config_step(body) + resource))
            return reports

    first, stale, cleared, again = run(go())
    assert labels(first) == ["Sale", "Team only"]  # first read: nothing cached yet
    assert "cache was not cleared (clear_cache: never)" in step(stale, "fin-a").message
    assert labels(stale) == ["Sale", "Team only"]  # the global rename is not seen: the cache is stale
    cache = step(cleared, "fin-a").data["cache"]
    assert step(cleared, "fin-a").data["applied"] == [] and not cache["cleared"]  # nothing changed this run
    assert labels(cleared) == ["Sale", "Team only"]
    assert step(again, "fin-a").data["cache"]["cleared"]
    assert "REST cache of fin-a's node cleared (utils webproxy cache clear rest)" in step(again, "fin-a").message
    assert labels(again) == ["Sale (newer)", "Team only"]


def test_two_nodes_of_one_cluster_in_one_run(tmp_path: Path, cluster: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(cluster(hostname="fin-a", finesse_peer_node=True)) as lab:
            targets: dict[str, Target | LabAppliance] = {
                "fin-a": Target(lab, peers=[peer_of(lab)]),
                "fin-a-peer": Target(lab, peer_node=True, peers=[f"127.0.0.1:{lab.rest_port}"])}
            return await play(tmp_path, targets, config_step({"reason_codes": DESIRED["reason_codes"]}))

    report = run(go())
    steps = sorted((step(report, h).status, step(report, h).message) for h in ("fin-a", "fin-a-peer"))
    assert [s for s, _ in steps] == ["changed", "ok"], steps
    assert steps[1][1].startswith("nothing to do on primary node fin-a.lab.example.com")
    assert all("REST cache of" in m for _, m in steps)  # each node's own cache, once the cluster changed


def test_export_writes_the_desired_state_and_diff_compares_clusters(tmp_path: Path,
                                                                    cluster: Callable[..., LabConfig],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from ops.finesse_export import desired_state, playbook_text, read_clusters

    async def go() -> tuple[str, list[str], RunReport]:
        async with LabAppliance(cluster(hostname="fin-a")) as a, LabAppliance(cluster(hostname="fin-b")) as b:
            await play(tmp_path, {"fin-a": a}, config_step(DESIRED))
            await play(tmp_path, {"fin-b": b}, config_step({"reason_codes": [
                {"category": "NOT_READY", "code": 10, "label": "Pause"}]}))
            inv = load_inventory(inventory(tmp_path, {"fin-a": a, "fin-b": b}))
            (current_a, chosen), (current_b, _) = await read_clusters(inv, ["fin-a", "fin-b"])
            text = playbook_text("fin-a", desired_state(current_a), chosen)
            desired = FinesseConfigArgs.model_validate(desired_state(current_a))
            diff = plan(desired, current_b).diff()
            exported = tmp_path / "exported.yaml"
            exported.write_text(text.replace("hosts: fin-a", "hosts: finesse"))
            inv_a = load_inventory(inventory(tmp_path, {"fin-a": a}))
            book = load_playbook(exported, inv_a, {})
            rerun = await run_playbook(book, inv_a, RunOptions(output=tmp_path / "collected", command_timeout=20))
            return text, diff, rerun

    text, diff, rerun = run(go())
    assert text.startswith("# The Finesse configuration of fin-a's cluster, read from primary node")
    exported = yaml.safe_load(text)["steps"][0]["finesse_config"]
    assert exported["reason_codes"][0] == {"category": "LOGOUT", "code": 20, "label": "End of shift",
                                           "for_all": True}
    assert exported["teams"][0] == {"name": "Sales", "reason_codes": [{"category": "NOT_READY", "code": 13}],
                                    "wrap_up_reasons": ["Complaint"], "phone_books": ["Sales book"]}
    assert not _keys(exported) & {"id", "uri"}  # natural keys only, never database ids
    assert '~ reason code NOT_READY 10 "Pause": label "Pause" -> "Break"' in diff
    assert diff[-1].startswith("7 to create, 4 to update, 0 to delete")
    again = step(rerun, "fin-a")
    assert again.status == "ok" and again.message.startswith("nothing to do"), again.message


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_an_unknown_team_fails_the_plan_and_names_the_teams(tmp_path: Path, cluster: Callable[..., LabConfig]) -> None:
    async def go() -> RunReport:
        async with LabAppliance(cluster(hostname="fin-a")) as lab:
            return await play(tmp_path, {"fin-a": lab}, config_step({"teams": [{"name": "Nobody",
                                                                                "wrap_up_reasons": []}]}))

    failed = step(run(go()), "fin-a")
    assert failed.status == "failed"
    assert "team 'Nobody' is not on the cluster" in failed.message and "'Sales', 'Support'" in failed.message


def test_shipped_playbook_on_the_default_inventory(tmp_path: Path) -> None:
    inv = load_inventory(REPO / "inventory.yaml")
    book = load_playbook(REPO / "playbooks" / "finesse-reason-codes.yaml", inv, {"plan_only": True})
    planned = run(run_playbook(book, inv, RunOptions(output=tmp_path / "plan", command_timeout=30)))
    applied = run(run_playbook(load_playbook(REPO / "playbooks" / "finesse-reason-codes.yaml", inv), inv,
                               RunOptions(output=tmp_path / "apply", command_timeout=30)))
    for host in ("finesse-a", "finesse-b"):
        assert planned.hosts[host].status == "ok", planned.hosts[host].error
        assert planned.hosts[host].steps[0].data["applied"] == []
        record = applied.hosts[host]
        assert record.status == "ok", record.error
        result = record.steps[0]
        assert result.status == "changed" and result.data["counts"]["create"] == 11
        assert result.data["cache"]["cleared"]


def test_ops_finesse_export_and_diff_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The handler `ops finesse` will call, on the default inventory's lab hosts (fresh, so alike)."""
    import argparse

    from ops.cli import add_finesse_commands
    from ops.finesse_export import handle

    parser = argparse.ArgumentParser(prog="ops")
    add_finesse_commands(parser.add_subparsers(dest="command"))
    out = tmp_path / "finesse-a.yaml"
    inv = str(REPO / "inventory.yaml")
    assert handle(parser.parse_args(["finesse", "export", "finesse-a", "-i", inv, "-o", str(out)])) == 0
    book = yaml.safe_load(out.read_text())
    assert book["hosts"] == "finesse-a" and book["steps"][0]["finesse_config"]["reason_codes"] == []
    assert [t["name"] for t in book["steps"][0]["finesse_config"]["teams"]] == ["Sales", "Support"]
    assert handle(parser.parse_args(["finesse", "diff", "finesse-a", "finesse-b", "-i", inv])) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "0 to create, 0 to update, 0 to delete; 6 unchanged"
    assert handle(parser.parse_args(["finesse", "export", "nobody", "-i", inv])) == 2
    assert "no host 'nobody'" in capsys.readouterr().err
