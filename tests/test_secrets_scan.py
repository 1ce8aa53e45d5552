"""No secret anywhere: every shipped playbook runs against the lab with known secrets, then every file of
the run directory, stdout, stderr and the log records are searched for them, plain, base64 and URL-encoded."""

from __future__ import annotations

import base64
import logging
import urllib.parse
from pathlib import Path

import pytest

from ops.cli import main
from ops.secrets import Secret
from tests.helpers import REPO

PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yaml"))
UI_PASSWORD = "Known-UI-Passw0rd-93"


def _forms(value: str) -> set[str]:
    return {value, base64.b64encode(value.encode()).decode(), urllib.parse.quote(value, safe=""),
            urllib.parse.quote_plus(value)}


# Labs that leak in every way the field does: passwords echoed in clear, echoed as `c<BS>*`, and
# REST replies that carry the request's headers (Authorization: Basic ...) back.
LEAKY_INVENTORY = """\
defaults: {username: admin, host_key: strict}
receiver: {listen: 127.0.0.1, advertise: 127.0.0.1, port: 0}
groups:
  finesse: {hosts: [finesse-a, finesse-b]}
hosts:
  finesse-a:
    lab: {secret_echo: clear, rest_echo_requests: true}
  finesse-b:
    lab: {seed: 1, nested_layout: true, secret_echo: mangled, rest_echo_requests: true}
"""


def _leaks(playbook: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
           generated: list[str]) -> list[str]:
    """Run `playbook` on the leaky labs; every place (file, stream, log) where a secret shows."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(LEAKY_INVENTORY)
    caplog.set_level(logging.DEBUG)
    code = main(["run", str(playbook), "-i", str(inventory), "-o", str(tmp_path / "out"), "-vvv"])
    out, err = capfd.readouterr()
    assert code == 0, out + err
    assert generated, "labs and the receiver generate their passwords"
    needles: set[str] = set()
    for value in [UI_PASSWORD, *generated]:
        needles |= _forms(value)
    haystacks = {"stdout": out, "stderr": err, "logs": caplog.text}
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            haystacks[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    assert len(haystacks) > 3
    return sorted({where for where, text in haystacks.items() for needle in needles if needle in text})


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.stem)
def test_no_secret_in_run_directory_output_or_logs(playbook: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capfd: pytest.CaptureFixture[str],
                                                   caplog: pytest.LogCaptureFixture,
                                                   generated_secrets: list[str]) -> None:
    monkeypatch.setenv("FINESSE_UI_PASSWORD", UI_PASSWORD)
    assert _leaks(playbook, tmp_path, capfd, caplog, generated_secrets) == []


@pytest.mark.parametrize("playbook", ["unlock-admin-ui", "health-check", "pull-desktop-logs"])
def test_the_scan_sees_a_leak_when_masking_is_off(playbook: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capfd: pytest.CaptureFixture[str],
                                                  caplog: pytest.LogCaptureFixture,
                                                  generated_secrets: list[str]) -> None:
    """The scan above can fail: with masking off, the leaky labs' echoes and the REST echo show."""
    from ops.secrets import MASKER

    monkeypatch.setenv("FINESSE_UI_PASSWORD", UI_PASSWORD)
    monkeypatch.setattr(MASKER, "mask", lambda text: text)
    assert _leaks(REPO / "playbooks" / f"{playbook}.yaml", tmp_path, capfd, caplog, generated_secrets)


def test_basic_auth_headers_and_mangled_echo_are_masked() -> None:
    from ops.secrets import MASK, register_basic_auth
    from ops.session.transcript import Transcript

    secret = Secret("Rest-Pw-8812x", "env:X")
    register_basic_auth("admin", secret)
    token = base64.b64encode(b"admin:Rest-Pw-8812x").decode()
    for text in (f"Authorization: Basic {token}", f'{{"Authorization": "Basic {token}"}}', f"x-echo: {token}",
                 "authorization: Bearer eyJhbGciOi.abc.def"):
        assert token not in mask_text(text) and "eyJhbGciOi" not in mask_text(text)
    transcript = Transcript()
    transcript.received("Password: " + "".join(f"{c}\b*" for c in "Mangled-Pw-77q") + "\r\n")
    Secret("Mangled-Pw-77q", "env:Y")
    # Kept as the screen showed it: asterisks only, no character of the password left to read.
    assert transcript.text().strip() == "Password: " + "*" * len("Mangled-Pw-77q")
    assert MASK == "********"


def mask_text(text: str) -> str:
    from ops.secrets import mask

    return mask(text)


def test_secret_never_prints_itself() -> None:
    secret = Secret("Abc-Def-123", "env:X")
    assert str(secret) == "********" and f"{secret}" == "********"
    assert "Abc-Def-123" not in repr(secret)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


def test_masker_masks_overlapping_adjacent_and_encoded_secrets() -> None:
    from ops.secrets import MASK, Masker

    masker = Masker()
    for value in ("abcdef", "cdefgh", "xyz1", "p@ss w/rd"):
        masker.register(value)
    masker.register("ab")  # too short to mask: would shred every transcript
    text = "..abcdefgh.. xyz1xyz1 ab abc " + base64.b64encode(b"p@ss w/rd").decode() + " p%40ss+w%2Frd"
    assert masker.mask(text) == f"..{MASK}.. {MASK}{MASK} ab abc {MASK} {MASK}"
    assert masker.mask("") == "" and masker.mask("nothing here") == "nothing here"


def test_masker_with_hundreds_of_secrets_registered_between_masks() -> None:
    """A fan-out registers a receiver password per host while other hosts' transcripts are masked."""
    from ops.secrets import MASK, Masker

    masker = Masker()
    values = [f"rx-{i:04d}-{i * 7919:x}" for i in range(600)]
    for i, value in enumerate(values):
        masker.register(value)
        assert masker.mask(f"line {value} end") == f"line {MASK} end"
        assert masker.mask(f"line {values[i // 2]}") == f"line {MASK}"
    assert masker.mask(" ".join(values)) == " ".join([MASK] * len(values))


def test_masker_rebuilds_rarely_and_masks_across_old_and_new_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets registered since the automaton was built are found too, overlapping ones merged
    with the automaton's matches; and 600 registrations between masks rebuild it a few dozen
    times, not 600 (each rebuild costs all the values: hosts x values over a run)."""
    import ahocorasick

    from ops.secrets import MASK, Masker

    built: list[int] = []
    real = ahocorasick.Automaton
    monkeypatch.setattr(ahocorasick, "Automaton", lambda *a: (built.append(1), real(*a))[1])
    masker = Masker()
    masker.register("abcdef")
    assert masker.mask("x abcdef") == f"x {MASK}"  # the automaton holds abcdef
    masker.register("cdefgh")  # found with str.find until the next rebuild
    assert masker.mask("..abcdefgh.. cdefgh abcdef") == f"..{MASK}.. {MASK} {MASK}"
    built.clear()
    for i in range(600):
        masker.register(f"rx-{i:04d}-{i * 7919:x}")
        assert masker.mask(f"a rx-{i:04d}-{i * 7919:x} b") == f"a {MASK} b"
    assert 0 < len(built) <= 40
