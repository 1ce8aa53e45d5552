"""`ops bundle RUN --upload CASE --token REF [--encrypt]` (issue 19, part 4), end to end against the
lab's CXD endpoint (ops/lab/cxd.py, HTTPS on loopback: nothing is sent anywhere else): the PUT as
Cisco documents it, a progress bar, retries that start again from the first byte after a
connection dropped halfway, the sha256 in the case note, encryption that the openssl command line
decrypts, and a token that never shows."""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from ops.bundle import command
from ops.lab.cxd import CxdServer
from ops.reportflags import add_bundle_arguments
from ops.secrets import Secret
from ops.upload import UploadError, upload
from tests.test_bundle import lab_run

CASE = "694123456"
TOKEN = "Cxd-Upload-Token-7f3a9c"  # what a TAC case's upload token looks like: a secret of the case


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lab_run(tmp_path_factory.mktemp("upload"))


@pytest.fixture
def run_dir(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "out" / pristine.name))


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPS_TEST_CXD_TOKEN", TOKEN)
    return "env:OPS_TEST_CXD_TOKEN"


@pytest.fixture
def drive() -> Iterator[CxdServer]:
    with CxdServer(CASE, TOKEN) as server:
        yield server


def _parser() -> argparse.ArgumentParser:
    """`ops bundle`'s parser as ops/cli.py builds it, with the flags of ops.bundle.add_arguments."""
    parser = argparse.ArgumentParser(prog="ops bundle")
    parser.add_argument("run_id")
    parser.add_argument("--output", type=Path, default=Path("collected"))
    parser.add_argument("-o", dest="bundle_path", type=Path, default=None)
    add_bundle_arguments(parser)
    return parser


def _bundle(argv: list[str], run_dir: Path, console: Console | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = _parser().parse_args([str(run_dir), *argv])
    code = command(args, run_dir, out=out, err=err, console=console or Console(file=out, force_terminal=False))
    return code, out.getvalue(), err.getvalue()


def _no_token(*texts: str) -> None:
    forms = [TOKEN, base64.b64encode(f"{CASE}:{TOKEN}".encode()).decode(), TOKEN[4:16]]
    for text in texts:
        for form in forms:
            assert form not in text


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_upload_to_the_lab_drive_with_a_progress_bar_and_the_case_note(
        run_dir: Path, drive: CxdServer, token_env: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    code, out, err = _bundle(["--upload", CASE, "--token", token_env, "--upload-url", drive.url,
                              "--ca-bundle", str(drive.ca_path), "--retry-wait", "0"], run_dir, console)
    assert code == 0, err
    bundle = run_dir.parent / f"{run_dir.name}.tar.gz"
    stored = drive.files / bundle.name
    assert stored.read_bytes() == bundle.read_bytes()
    assert drive.lab.stored[bundle.name] == (bundle.stat().st_size, _sha(bundle))
    assert [a.outcome for a in drive.lab.attempts] == ["stored"]
    assert f"uploaded {bundle.name} to {drive.url}{bundle.name} (HTTP 201, attempt 1)" in out
    note = out[out.index("Case note:"):]
    assert f"for case {CASE}" in note and f"SHA-256: {_sha(bundle)}" in note
    assert f"Size: {bundle.stat().st_size} bytes" in note and run_dir.name in note
    assert "uploading" in screen.getvalue() and "\x1b[" in screen.getvalue()  # rich drew its bar
    _no_token(out, err, screen.getvalue(), caplog.text)


def test_a_connection_dropped_halfway_is_retried_from_the_first_byte(
        run_dir: Path, token_env: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with CxdServer(CASE, TOKEN, drops=2) as drive:
        code, out, err = _bundle(["--upload", CASE, "--token", token_env, "--upload-url", drive.url,
                                  "--ca-bundle", str(drive.ca_path), "--retry-wait", "0"], run_dir)
        assert code == 0, err
        bundle = run_dir.parent / f"{run_dir.name}.tar.gz"
        size = bundle.stat().st_size
        first, second, third = drive.lab.attempts
        assert (first.outcome, second.outcome, third.outcome) == ("dropped", "dropped", "stored")
        assert first.received == size // 2 and third.received == size == third.announced
        assert (drive.files / bundle.name).read_bytes() == bundle.read_bytes()
        assert sorted(p.name for p in drive.files.iterdir()) == [bundle.name]  # nothing half-stored
    assert "attempt 2 of 4, from the first byte again" in err and "attempt 3 of 4" in err
    assert "(HTTP 201, attempt 3)" in out and f"SHA-256: {_sha(bundle)}" in out
    _no_token(out, err, caplog.text)


def test_a_server_error_is_retried_and_a_drive_that_keeps_failing_is_a_clear_failure(
        run_dir: Path, token_env: str) -> None:
    with CxdServer(CASE, TOKEN, fail_status=[503]) as drive:
        code, out, err = _bundle(["--upload", CASE, "--token", token_env, "--upload-url", drive.url,
                                  "--ca-bundle", str(drive.ca_path), "--retry-wait", "0"], run_dir)
        assert code == 0 and [a.outcome for a in drive.lab.attempts] == ["failed 503", "stored"], err
        assert "HTTP 503 Service Unavailable" in err
    with CxdServer(CASE, TOKEN, drops=10) as drive:
        code, out, err = _bundle(["--upload", CASE, "--token", token_env, "--upload-url", drive.url,
                                  "--ca-bundle", str(drive.ca_path), "--retry-wait", "0", "--retries", "2"], run_dir)
        assert code == 1 and len(drive.lab.attempts) == 3 and not list(drive.files.iterdir())
        assert "failed 3 times" in err and "Case note" not in out
    _no_token(out, err)


def test_a_wrong_token_is_refused_once_and_never_shown(run_dir: Path, drive: CxdServer,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Not-The-Token-5521"
    monkeypatch.setenv("OPS_TEST_WRONG", wrong)
    code, out, err = _bundle(["--upload", CASE, "--token", "env:OPS_TEST_WRONG", "--upload-url", drive.url,
                              "--ca-bundle", str(drive.ca_path), "--retry-wait", "0"], run_dir)
    assert code == 1 and [a.outcome for a in drive.lab.attempts] == ["refused"]
    assert "HTTP 401" in err and f"case number {CASE}" in err
    for text in (out, err, caplog.text):
        assert wrong not in text and base64.b64encode(f"{CASE}:{wrong}".encode()).decode() not in text


def test_bad_flags_and_missing_secrets_stop_before_the_bundle_is_made(run_dir: Path, token_env: str) -> None:
    bundle = run_dir.parent / f"{run_dir.name}.tar.gz"
    for argv, message in [
        (["--upload", CASE], "--upload needs --token"),
        (["--upload", "SR-12", "--token", token_env], "a TAC case number is digits"),
        (["--upload", CASE, "--token", "env:OPS_TEST_NOT_SET_ANYWHERE"], "OPS_TEST_NOT_SET_ANYWHERE is not set"),
        (["--token", token_env], "--token goes with --upload"),
        (["--passphrase", "env:X"], "--passphrase goes with --encrypt"),
        (["--encrypt", "--passphrase", "env:OPS_TEST_NOT_SET_ANYWHERE"], "is not set"),
    ]:
        code, _out, err = _bundle(argv, run_dir)
        assert code == 2 and message in err, (argv, err)
        assert not bundle.exists()


def test_only_https_and_no_credentials_in_the_url(tmp_path: Path) -> None:
    data = tmp_path / "b.tar.gz"
    data.write_bytes(b"x")
    token = Secret(TOKEN, "test")
    for url in ("http://127.0.0.1:1/home/", f"https://{CASE}:pw@127.0.0.1:1/home/", "https://127.0.0.1:1/home/?a=1"):
        with pytest.raises(UploadError) as caught:
            upload(data, CASE, token, base_url=url, retries=0)
        _no_token(str(caught.value))


@pytest.mark.skipif(not shutil.which("openssl"), reason="the openssl command line decrypts what --encrypt wrote")
def test_encrypt_writes_what_openssl_decrypts_and_uploads_that(run_dir: Path, drive: CxdServer, token_env: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PASSPHRASE", "correct horse battery staple")
    code, out, err = _bundle(["--encrypt", "--passphrase", "env:OPS_TEST_PASSPHRASE", "--upload", CASE, "--token",
                              token_env, "--upload-url", drive.url, "--ca-bundle", str(drive.ca_path)], run_dir)
    assert code == 0, err
    bundle = run_dir.parent / f"{run_dir.name}.tar.gz"
    encrypted = bundle.with_name(bundle.name + ".enc")
    assert encrypted.read_bytes()[:8] == b"Salted__" and oct(encrypted.stat().st_mode & 0o777) == "0o600"
    assert (drive.files / encrypted.name).read_bytes() == encrypted.read_bytes()
    assert f"SHA-256: {_sha(encrypted)}" in out and f"sha256 {_sha(bundle)}" in out
    assert "correct horse" not in out + err
    # The command the case note gives, with the passphrase from the environment instead of a prompt.
    line = next(t.strip() for t in out.splitlines() if t.strip().startswith("openssl enc -d"))
    plain = run_dir.parent / "decrypted.tar.gz"
    argv = line.replace(f"-out {bundle.name}", f"-out {plain}").split() + ["-pass", "env:OPS_TEST_PASSPHRASE"]
    subprocess.run(argv, cwd=run_dir.parent, check=True, capture_output=True, timeout=60)
    assert plain.read_bytes() == bundle.read_bytes()


@pytest.mark.skipif(not shutil.which("openssl"), reason="the openssl command line decrypts what --encrypt wrote")
def test_encrypt_without_a_passphrase_generates_one_into_a_private_file(run_dir: Path) -> None:
    code, out, err = _bundle(["--encrypt"], run_dir)
    assert code == 0, err
    bundle = run_dir.parent / f"{run_dir.name}.tar.gz"
    secret = bundle.with_name(bundle.name + ".enc.passphrase")
    assert oct(secret.stat().st_mode & 0o777) == "0o600" and len(secret.read_text().strip()) == 32
    assert secret.read_text().strip() not in out + err and str(secret) in out
    plain = run_dir.parent / "plain.tar.gz"
    subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", "600000", "-md", "sha256", "-in",
                    f"{bundle}.enc", "-out", str(plain), "-pass", f"file:{secret}"], check=True, capture_output=True,
                   timeout=60)
    assert plain.read_bytes() == bundle.read_bytes()
    assert os.path.getsize(f"{bundle}.enc") > bundle.stat().st_size
