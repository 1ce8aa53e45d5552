"""A bundle to Cisco TAC: an HTTPS PUT to the Customer eXperience Drive (CXD), optionally encrypted first.

What Cisco documents, and where it was read (looked up for issue 19):

- "Customer File Uploads to Cisco Technical Assistance Center",
  https://www.cisco.com/c/en/us/support/web/tac/tac-customer-file-uploads.html (Document ID
  1510676978683359, updated April 12, 2024). Its contents list the sections "Customer eXperience
  Drive", "CXD Upload Token", "File Upload API", "Sample Python Code to use the PUT API",
  "Encrypting Files Using Tar and OpenSSL", "Encrypting Files Using Gzip and GnuPG" and
  "Communicating the Password to the TAC Customer Support Engineer"; CXD takes files of any size,
  encrypted in transit (but over FTP) and at rest. The stored copy held only the page's table of
  contents and opening sections, not the body of "File Upload API".
- The API's shape, as Cisco's Smart Bonding documentation states it
  (https://developer.cisco.com/docs/smart-bonding-customer-api/attachment-information): each TAC
  case has upload credentials, "a Username (the Cisco ticket number) and a Password (token)",
  valid 72 days from the case's creation and refreshable; the upload domain is `cxd.cisco.com`,
  HTTPS path `/home/`.
- Public scripts that use that PUT API (found with the code search, not copied) agree on:
  `PUT https://cxd.cisco.com/home/<file name>` with HTTP Basic authentication (case number, upload
  token), the file as the raw request body, and `201 Created` when it is stored.

Nothing in the documentation offers resuming a partial upload (no range or offset on the PUT), so
a failed attempt is started again from the first byte: the drive keeps only whole files, and each
attempt sends the same bytes, whose sha256 is computed before the first one.

The token is a secret reference (env:, file:, cmd:, prompt); its value goes only into the
Authorization header and is registered for masking (with its Basic form) before anything is sent,
so no message, error or log line can show it.

Encryption (`encrypt_file`): of the two ways the TAC document lists (tar + openssl, gzip + GnuPG),
this writes OpenSSL's `enc` format: AES-256-CBC, key and IV from PBKDF2-HMAC-SHA256 (600,000
iterations, an 8-byte random salt), the file starting `Salted__`. The TAC engineer decrypts it with
`openssl enc -d -aes-256-cbc -pbkdf2 -iter 600000 -md sha256 -in F.enc -out F`, which the tests run
against this machine's openssl. GnuPG is not offered: one format, tested end to end, is enough.
"""

from __future__ import annotations

import hashlib
import os
import re
import ssl
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ops.fileio import atomic_binary
from ops.secrets import Secret, mask, register_basic_auth
from ops.units import human_bytes

__all__ = ["CXD_URL", "OPENSSL_ITERATIONS", "UploadError", "UploadResult", "case_note", "decrypt_command",
           "encrypt_file", "upload"]

CXD_URL = "https://cxd.cisco.com/home/"
OPENSSL_ITERATIONS = 600_000
CHUNK = 1 << 20
CASE_RE = re.compile(r"^\d{6,12}$", re.ASCII)  # TAC case (SR) numbers are digits: 9 today


class UploadError(Exception):
    """The upload failed (after its retries) or was refused; the message never holds the token."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(mask(message))
        self.refused = refused


@dataclass
class UploadResult:
    url: str          # where the file went (no credentials in it)
    name: str
    size: int
    sha256: str
    attempts: int
    status: int
    finished: datetime


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _ssl_context(ca_bundle: Path | None) -> ssl.SSLContext | bool:
    from ops.rest.http import RestError, ssl_context

    try:
        return ssl_context(True, ca_bundle)
    except RestError as exc:
        raise UploadError(str(exc)) from None


def _target(base_url: str, name: str) -> str:
    split = urllib.parse.urlsplit(base_url)
    if split.scheme != "https" or not split.hostname:
        raise UploadError(f"the upload URL must be https://HOST/PATH/, not {base_url!r}")
    if split.username or split.password or split.query or split.fragment:
        raise UploadError("the upload URL takes no user, password, query or fragment (the case number and token "
                          "go in the Authorization header)")
    path = split.path if split.path.endswith("/") else split.path + "/"
    return urllib.parse.urlunsplit(("https", split.netloc, path + urllib.parse.quote(name, safe=""), "", ""))


class _Progress:
    """A rich progress bar on a terminal; plain lines (or nothing) elsewhere."""

    def __init__(self, name: str, size: int, console: Any, say: Callable[[str], None]) -> None:
        self.bar: Any = None
        self.say = say
        if console is not None and getattr(console, "is_terminal", False):
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
                                TransferSpeedColumn(), console=console, transient=False)
            self.task = self.bar.add_task(f"uploading {name}", total=size)
            self.bar.start()

    def restart(self, attempt: int) -> None:
        if self.bar is not None:
            self.bar.reset(self.task, description=f"uploading (attempt {attempt})")

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, count)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def upload(path: Path, case: str, token: Secret, *, base_url: str = CXD_URL, ca_bundle: Path | None = None,
           retries: int = 3, backoff: float = 2.0, timeout: float = 60.0, console: Any = None,
           say: Callable[[str], None] = lambda text: None) -> UploadResult:
    """PUT `path` to `<base_url><file name>` as case `case` with `token`; each failed attempt (a
    dropped connection, a timeout, a 5xx answer) starts again from the first byte, `retries` times
    at most, waiting `backoff` seconds, then twice that, and so on. 401/403 are never retried."""
    if not CASE_RE.fullmatch(case):
        raise UploadError(f"{case!r} is not a TAC case number (digits, such as 694123456)", refused=True)
    register_basic_auth(case, token)
    name = path.name
    url = _target(base_url, name)
    size = path.stat().st_size
    digest = _sha256(path)
    context = _ssl_context(ca_bundle)
    bar = _Progress(name, size, console, say)
    last = ""
    try:
        with httpx.Client(verify=context, timeout=httpx.Timeout(timeout), auth=(case, token.reveal()),
                          follow_redirects=False) as client:
            for attempt in range(1, retries + 2):
                if attempt > 1:
                    say(f"attempt {attempt} of {retries + 1}, from the first byte again, after: {last}")
                    time.sleep(backoff * 2 ** (attempt - 2))
                    bar.restart(attempt)
                sent = hashlib.sha256()

                def body(sent: Any = sent) -> Iterator[bytes]:
                    with path.open("rb") as handle:
                        while chunk := handle.read(CHUNK):
                            sent.update(chunk)
                            bar.advance(len(chunk))
                            yield chunk

                try:
                    response = client.put(url, content=body(), headers={
                        "Content-Length": str(size), "Content-Type": "application/octet-stream"})
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    continue
                if response.status_code in (200, 201, 204):
                    if sent.hexdigest() != digest:
                        raise UploadError(f"{path} changed while it was sent (sha256 {sent.hexdigest()}, "
                                          f"{digest} before): upload it again")
                    return UploadResult(url, name, size, digest, attempt, response.status_code, datetime.now(UTC))
                reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                if response.status_code in (401, 403):
                    raise UploadError(f"the upload was refused: {reason} (check the case number {case} and its "
                                      "upload token: it expires 72 days after the case was opened)", refused=True)
                if response.status_code < 500 and response.status_code not in (408, 429):
                    raise UploadError(f"the upload was refused: {reason}", refused=True)
                last = reason
    finally:
        bar.stop()
    raise UploadError(f"the upload of {name} to {url} failed {retries + 1} times; last: {last}")


def case_note(result: UploadResult, case: str, *, encrypted: bool = False, what: str = "") -> str:
    """The text to paste into the case: what was uploaded, where, its size and sha256."""
    lines = [f"Uploaded {result.name} to Cisco CXD for case {case} at {result.finished:%Y-%m-%d %H:%M:%S} UTC.",
             f"Size: {result.size} bytes ({human_bytes(result.size)}).",
             f"SHA-256: {result.sha256}"]
    if what:
        lines.append(what)
    if encrypted:
        lines.append("Encrypted with OpenSSL enc (AES-256-CBC, PBKDF2-SHA256, 600000 iterations); the passphrase "
                     "comes separately. To decrypt:")
        lines.append("  " + decrypt_command(result.name))
    lines.append(f"Check it: sha256sum {result.name}")
    return "\n".join(lines)


def decrypt_command(name: str) -> str:
    plain = name[:-4] if name.endswith(".enc") else name + ".dec"
    return (f"openssl enc -d -aes-256-cbc -pbkdf2 -iter {OPENSSL_ITERATIONS} -md sha256 -in {name} -out {plain}")


def encrypt_file(source: Path, target: Path, passphrase: Secret, *, iterations: int = OPENSSL_ITERATIONS) -> Path:
    """`source` encrypted into `target` in OpenSSL's `enc` format (see the module's docstring), written
    to a temporary name and renamed, private like every file the toolkit writes."""
    salt = os.urandom(8)
    material = hashlib.pbkdf2_hmac("sha256", passphrase.reveal().encode("utf-8"), salt, iterations, dklen=48)
    encryptor = Cipher(algorithms.AES(material[:32]), modes.CBC(material[32:])).encryptor()
    padder = padding.PKCS7(128).padder()
    with atomic_binary(target) as out, source.open("rb") as handle:
        out.write(b"Salted__" + salt)
        while chunk := handle.read(CHUNK):
            out.write(encryptor.update(padder.update(chunk)))
        out.write(encryptor.update(padder.finalize()) + encryptor.finalize())
    return target
