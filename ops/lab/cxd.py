"""A lab stand-in for Cisco's Customer eXperience Drive upload API, on loopback, over HTTPS.

`PUT /home/<file name>` with HTTP Basic authentication (the case number as user, its upload token
as password) and the file as the body; `201 Created` once the whole body arrived, which is then
kept under its name (temporary name, then renamed: a cut upload is never stored). What the real
drive does, as ops/upload.py records; with faults on request, so tests prove the client copes:

- `drops`: the first N uploads are cut: the connection is closed after `drop_after` bytes of the
  body arrived (default: half of it), without an answer;
- `fail_status`: answers to give to the first uploads instead of storing them (e.g. [503]).

The certificate is signed by a CA made at start (`ca_path`); nothing listens but on 127.0.0.1.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import shutil
import socket
import ssl
import tempfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ops.lab.rest import certs

log = logging.getLogger(__name__)


@dataclass
class Attempt:
    name: str
    authorized: bool
    announced: int            # Content-Length
    received: int             # body bytes read before the answer (or the cut)
    outcome: str              # stored | dropped | refused | failed <status>


@dataclass
class CxdLab:
    case: str
    token: str
    drops: int = 0
    drop_after: int | None = None
    fail_status: list[int] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    stored: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> (size, sha256)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    lab: CxdLab
    directory: Path
    lock: threading.Lock

    def handle_error(self, request: object, client_address: object) -> None:
        log.debug("lab cxd: request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "lab-cxd/1"
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        log.debug("lab cxd: " + format, *args)

    def _answer(self, status: int, text: str = "", headers: dict[str, str] | None = None) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        lab = self.server.lab
        return user == lab.case and password == lab.token

    def do_PUT(self) -> None:
        lab = self.server.lab
        path = urllib.parse.urlsplit(self.path).path
        name = urllib.parse.unquote(path[len("/home/"):]) if path.startswith("/home/") else ""
        length = int(self.headers.get("Content-Length") or -1)
        authorized = self._authorized()
        if not name or "/" in name or name in (".", "..") or "\x00" in name:
            self._answer(400, "bad file name")
            return
        if not authorized:
            lab.attempts.append(Attempt(name, False, length, 0, "refused"))
            self._answer(401, "Unauthorized", {"WWW-Authenticate": 'Basic realm="CXD"'})
            self.close_connection = True
            return
        if length < 0:
            self._answer(411, "Content-Length required")
            return
        with self.server.lock:
            index = len(lab.attempts)
            attempt = Attempt(name, True, length, 0, "")
            lab.attempts.append(attempt)
        cut = (lab.drop_after if lab.drop_after is not None else length // 2) if index < lab.drops else None
        fail = lab.fail_status[index] if index < len(lab.fail_status) else None
        sha = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=self.server.directory)
        try:
            with open(fd, "wb") as out:
                while attempt.received < length:
                    want = min(1 << 16, length - attempt.received)
                    if cut is not None:
                        want = min(want, cut - attempt.received)
                        if want <= 0:
                            attempt.outcome = "dropped"
                            # The partial file goes before the client can notice the cut (and retry, or
                            # look): nothing half-received is ever on the drive.
                            out.close()
                            Path(tmp).unlink(missing_ok=True)
                            # Cut as a broken link would: no answer, the socket closed under the client.
                            with contextlib.suppress(OSError):
                                self.connection.shutdown(socket.SHUT_RDWR)
                            self.close_connection = True
                            return
                    chunk = self.rfile.read(want)
                    if not chunk:
                        attempt.outcome = "client went away"
                        return
                    out.write(chunk)
                    sha.update(chunk)
                    attempt.received += len(chunk)
            if fail is not None:
                attempt.outcome = f"failed {fail}"
                Path(tmp).unlink(missing_ok=True)
                self._answer(fail, "Service Unavailable")
                return
            Path(tmp).replace(self.server.directory / name)
            lab.stored[name] = (length, sha.hexdigest())
            attempt.outcome = "stored"
            self._answer(201, "Created")
        finally:
            Path(tmp).unlink(missing_ok=True)


class CxdServer:
    """The lab drive: `start()`, `url` (its `/home/` base), `ca_path`, `files` (what it stored), `stop()`."""

    def __init__(self, case: str, token: str, *, drops: int = 0, drop_after: int | None = None,
                 fail_status: list[int] | None = None) -> None:
        self.lab = CxdLab(case, token, drops, drop_after, list(fail_status or []))
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._dir: Path | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/home/"

    @property
    def ca_path(self) -> Path:
        assert self._dir is not None, "start() first"
        return self._dir / "lab-ca.pem"

    @property
    def files(self) -> Path:
        assert self._dir is not None, "start() first"
        return self._dir / "home"

    def start(self) -> CxdServer:
        made = certs.generate("cxd.lab.example.com")
        self._dir = Path(tempfile.mkdtemp(prefix="ops-lab-cxd-"))
        (self._dir / "home").mkdir()
        (self._dir / "lab-ca.pem").write_bytes(made.ca_pem)
        key, cert = self._dir / "server.key", self._dir / "server.pem"
        key.touch(mode=0o600)
        key.write_bytes(made.key_pem)
        cert.write_bytes(made.cert_pem + made.ca_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        key.unlink()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.lab, server.directory, server.lock = self.lab, self._dir / "home", threading.Lock()
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="lab-cxd", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> CxdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
