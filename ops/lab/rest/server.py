"""The lab's HTTPS server: a `ThreadingHTTPServer` wrapped in TLS, run in a thread beside asyncio.

One port serves both APIs (routed by path: `/finesse...` and `/api/v2/...`). The certificate is
signed by a CA generated at start; `ca_path` is that CA as a PEM file (in a temp dir removed by
`stop()`) for clients to trust.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import ssl
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from ops.lab.rest import certs, finesse, gws
from ops.lab.rest.state import RestState
from ops.lab.rest.wire import Reply, Request, json_reply, truncated

if TYPE_CHECKING:
    from ops.lab.server import LabAppliance

log = logging.getLogger(__name__)
MAX_BODY = 1 << 20


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    lab: LabAppliance
    state: RestState

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that distrusts the certificate or hangs up mid-request is not news.
        log.debug("lab rest: request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "Apache-Coyote/1.1"  # what Finesse's Tomcat says
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        log.debug("lab rest: " + format, *args)

    def _serve(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(json_reply(413, {"statusCode": 413, "statusMessage": "Request too large"}))
            return
        body = self.rfile.read(length) if length else b""
        req = Request(method=self.command, path=split.path, query=dict(urllib.parse.parse_qsl(split.query)),
                      headers={k.lower(): v for k, v in self.headers.items()}, body=body)
        lab, state = self.server.lab, self.server.state
        try:
            reply = finesse.handle(lab, state, req) or gws.handle(lab, state, req)
        except Exception:  # a handler's bug must never take the appliance down
            log.exception("lab rest handler failed")
            reply = json_reply(500, {"statusCode": 500, "statusMessage": "Internal Server Error"})
        if reply is None:
            reply = Reply(404, b"Not Found", "text/plain")
        if lab.config.rest_malformed:
            reply = truncated(reply)
        if lab.config.rest_echo_requests:
            echo = "; ".join(f"{name}: {value}" for name, value in self.headers.items())
            reply = dataclasses.replace(reply, headers={**reply.headers, "X-Request-Echo": echo})
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", f"{reply.content_type}; charset=utf-8" if reply.body else reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _serve


class RestServer:
    """The lab's HTTPS listener; `start()` and `stop()` are synchronous and quick."""

    def __init__(self, lab: LabAppliance) -> None:
        self.lab = lab
        self.state = RestState()
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._dir: Path | None = None

    @property
    def ca_path(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the lab's REST server has no CA until start()")
        return self._dir / "lab-ca.pem"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        made = certs.generate(self.lab.config.hostname)
        self._dir = Path(tempfile.mkdtemp(prefix="ops-lab-rest-"))
        (self._dir / "lab-ca.pem").write_bytes(made.ca_pem)
        key, cert = self._dir / "server.key", self._dir / "server.pem"
        key.touch(mode=0o600)
        key.write_bytes(made.key_pem)
        cert.write_bytes(made.cert_pem + made.ca_pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        key.unlink()
        server = _Server((host, port), _Handler, bind_and_activate=True)
        # The handshake runs in the request's thread, on its first read, so a slow client never
        # holds up the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.lab, server.state = self.lab, self.state
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"lab-rest-{self.lab.config.hostname}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, cancel pending agent state changes, remove the certificate files. Safe twice."""
        server, self._server = self._server, None
        self.state.cancel_timers()
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._dir)
            self._dir = None
