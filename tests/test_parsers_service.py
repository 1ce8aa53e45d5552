"""`utils service` output parsing on captured text (repeats, trailing spaces, notes)."""

from __future__ import annotations

from pathlib import Path

from ops.parsers.service import find, parse_service_list, progress

FIXTURES = Path(__file__).parent / "fixtures"


def test_restart_progress_folds_repeats_and_trailing_spaces() -> None:
    text = (FIXTURES / "service-restart-tomcat.txt").read_text()
    assert progress(text, "Cisco Finesse Tomcat") == ["STOPPING", "STARTING", "STARTED"]
    assert progress(text, "cisco finesse tomcat")[-1] == "STARTED"
    assert progress(text, "Cisco Tomcat") == []


def test_failed_restart_ends_stopped() -> None:
    text = (FIXTURES / "service-restart-failed.txt").read_text()
    assert progress(text, "Cisco Finesse Tomcat") == ["STOPPING", "STOPPED"]


def test_service_list_with_not_activated_note() -> None:
    services = parse_service_list((FIXTURES / "service-list.txt").read_text())
    assert len(services) == 6
    hcs = services["Cisco HCS UC Monitor Service"]
    assert (hcs.state, hcs.note) == ("STOPPED", "Service Not Activated")
    status = find(services, "cisco finesse tomcat")
    assert status is not None and status.state == "STARTED"
    assert find(services, "No Such Service") is None
