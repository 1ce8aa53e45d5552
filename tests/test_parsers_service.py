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


def test_ntp_status_current_time_is_read() -> None:
    from datetime import UTC, datetime

    from ops.parsers.ntp import appliance_time

    text = ("synchronised to NTP server (10.1.1.1) at stratum 2\n   time correct to within 22 ms\n\n"
            "Current time in UTC is : Mon Mar 11 14:40:19 UTC 2019\n"
            "Current time in America/New_York is : Mon Mar 11 10:40:19 EDT 2019\n")
    assert appliance_time(text) == datetime(2019, 3, 11, 14, 40, 19, tzinfo=UTC)
    assert appliance_time("Executed command unsuccessfully") is None
