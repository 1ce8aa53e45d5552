"""The lab's HTTPS server: a `ThreadingHTTPServer` wrapped in TLS, run in a thread beside asyncio.

One port serves both APIs (routed by path: `/finesse...` and `/api/v2/...`). The certificate is
signed by a CA generated at start; `ca_path` is that CA as a PEM file (in a temp dir removed by
`stop()`) for clients to trust.

With `finesse_peer_node` the lab serves its cluster's other node too, on a port of its own
(`peer_port`), with a certificate of its own signed by the same CA: the two nodes share the
agents and the configuration database and name each other in SystemInfo; each has its own
status and webproxy cache. A node that `refuses` has its port bound but not listening, so a
connection is refused as by a node whose Tomcat is down.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import socket
import ssl
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from ops.lab.rest import certs, finesse, gws
from ops.lab.rest.configdb import ConfigDB
from ops.lab.rest.state import Node, RestState, peer_name
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
    node: Node

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
            reply = finesse.handle(lab, state, self.server.node, req) or gws.handle(lab, state, req)
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


@dataclasses.dataclass
class _Listener:
    """One node's port: a serving HTTPS server and its thread, or (a refusing node) a bound socket."""

    server: _Server | None = None
    thread: threading.Thread | None = None
    bound: socket.socket | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(5)
        if self.bound is not None:
            self.bound.close()


class RestServer:
    """The lab's HTTPS listener(s); `start()` and `stop()` are synchronous and quick."""

    def __init__(self, lab: LabAppliance) -> None:
        self.lab = lab
        cfg = lab.config
        self.state = RestState(config=ConfigDB(cfg.deployment_type, cfg.config_max_items))
        self.port = 0
        self.peer_port = 0  # the peer node's port (0: the lab serves one node)
        self._listeners: list[_Listener] = []
        self._dir: Path | None = None

    @property
    def ca_path(self) -> Path:
        if self._dir is None:
            raise RuntimeError("the lab's REST server has no CA until start()")
        return self._dir / "lab-ca.pem"

    @property
    def nodes(self) -> list[Node]:
        """This node first, then its peer when the lab serves it."""
        return self.state.nodes

    def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        cfg = self.lab.config
        ca = certs.make_ca(cfg.hostname)
        self._dir = Path(tempfile.mkdtemp(prefix="ops-lab-rest-"))
        (self._dir / "lab-ca.pem").write_bytes(ca.pem)
        me = Node(cfg.hostname, cfg.finesse_role, cfg.finesse_status,
                  generation=lambda: self.lab.webproxy_cache_generation, refuses=cfg.finesse_refuses)
        self.state.nodes.append(me)
        self.port = self._listen(me, ca, host, port)
        if cfg.finesse_peer_node:
            # The peer has no CLI in the lab, so nothing clears its webproxy cache but Finesse itself.
            peer = Node(peer_name(cfg.hostname, cfg.finesse_peer),
                        "secondary" if cfg.finesse_role == "primary" else "primary", cfg.finesse_peer_status,
                        refuses=cfg.finesse_peer_refuses)
            self.state.nodes.append(peer)
            self.peer_port = self._listen(peer, ca, host, 0)

    def _listen(self, node: Node, ca: certs.LabCA, host: str, port: int) -> int:
        assert self._dir is not None
        if node.refuses:
            bound = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            bound.bind((host, port))  # bound and never listening: connections are refused
            self._listeners.append(_Listener(bound=bound))
            return int(bound.getsockname()[1])
        cert_pem, key_pem = certs.issue(ca, node.name, dns_names=(node.fqdn,))
        key, cert = self._dir / f"{node.name}.key", self._dir / f"{node.name}.pem"
        key.touch(mode=0o600)
        key.write_bytes(key_pem)
        cert.write_bytes(cert_pem + ca.pem)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        key.unlink()
        server = _Server((host, port), _Handler, bind_and_activate=True)
        # The handshake runs in the request's thread, on its first read, so a slow client never
        # holds up the accept loop.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        server.lab, server.state, server.node = self.lab, self.state, node
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                  name=f"lab-rest-{node.name}", daemon=True)
        thread.start()
        self._listeners.append(_Listener(server=server, thread=thread))
        return int(server.server_address[1])

    def stop(self) -> None:
        """Stop serving, cancel pending agent state changes, remove the certificate files. Safe twice."""
        listeners, self._listeners = self._listeners, []
        self.state.cancel_timers()
        for listener in listeners:
            listener.stop()
        if self._dir is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._dir)
            self._dir = None
