"""Shared HTTP plumbing for the REST clients: one `httpx.AsyncClient` per endpoint.

An `Endpoint` says where an API is and how to trust and sign in to it (TLS verification is on
unless the inventory turns it off; a CA bundle adds the CA that signed the appliance's
certificate), which other nodes of its cluster may answer for it (`peers`, see ops.rest.failover)
and the longest URL it takes. `RestClient.request` sends one request and returns a `Response`
whose body can be parsed as JSON or XML; every failure is a `RestError` naming the method and
URL, with the password never in it. A URL longer than the endpoint takes is refused before
anything is sent (`URLTooLong`).
"""

from __future__ import annotations

import json
import ssl
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ops.parsers.xml import ParseError, local_name, snippet, xml_to_data
from ops.parsers.xml import parse_xml as _parse_xml
from ops.secrets import Secret, mask, register_basic_auth

__all__ = ["Endpoint", "Response", "RestClient", "RestError", "RestHTTPError", "RestParseError", "URLTooLong",
           "local_name", "parse_xml", "xml_to_data"]

Log = Callable[[str], None]


class RestError(Exception):
    """A REST call that did not give a usable answer; the message names the call and never a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(mask(message))


class RestHTTPError(RestError):
    """The server answered with an unexpected HTTP status."""

    def __init__(self, message: str, response: Response) -> None:
        super().__init__(message)
        self.response = response
        self.status = response.status


class RestParseError(RestError, ParseError):
    """The server's body is not the JSON or XML it claims to be."""


class URLTooLong(RestError):
    """A request whose URL is longer than its endpoint takes; nothing was sent."""


@dataclass(frozen=True)
class Endpoint:
    """Where one API of one host is, and how to reach it."""

    name: str
    base_url: str
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    verify: bool = True
    ca_bundle: Path | None = None
    timeout: float = 30.0
    # The base URLs of the other nodes of the host's cluster, as the inventory's `rest.peers` gives
    # them (ops.rest.failover tries them, or the peer SystemInfo names, when this node cannot serve).
    peers: tuple[str, ...] = ()
    failover: bool = False  # the API has SystemInfo to choose a node by (Finesse)
    max_url_length: int | None = None  # the longest URL the API takes; `max_url_source` says who says so
    max_url_source: str = ""


def ssl_context(verify: bool, ca_bundle: Path | None) -> ssl.SSLContext | bool:
    """The system's trust store plus `ca_bundle`; False only when verification is explicitly off."""
    if not verify:
        return False
    context = ssl.create_default_context()
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise RestError(f"cannot load CA bundle {ca_bundle}: {exc}") from None
    return context


def parse_xml(text: str, where: str = "the response") -> ET.Element:
    """`ops.parsers.xml.parse_xml`, failing as a RestParseError."""
    try:
        return _parse_xml(text, where)
    except ParseError as exc:
        raise RestParseError(str(exc)) from None


@dataclass
class Response:
    """One HTTP answer, its body still text until asked for as JSON or XML."""

    method: str
    url: str
    status: int
    reason: str
    headers: dict[str, str]
    text: str
    elapsed_ms: int = 0

    @property
    def what(self) -> str:
        return f"{self.method} {self.url}"

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise RestParseError(f"malformed JSON from {self.what} (HTTP {self.status}): {exc} "
                                 f"(body starts: {snippet(self.text)!r})") from None

    def xml(self) -> ET.Element:
        return parse_xml(self.text, f"the response to {self.what} (HTTP {self.status})")

    def is_json(self) -> bool:
        return self.content_type.endswith("json")  # application/json and any +json type

    def is_xml(self) -> bool:
        return self.content_type.endswith("xml") or (not self.content_type and self.text.lstrip().startswith("<?xml"))

    def parsed(self) -> Any:
        """JSON or XML (as `xml_to_data`, keyed by the root element) by content type; else the text."""
        if not self.text.strip():
            return None
        if self.is_json():
            return self.json()
        if self.is_xml():
            root = self.xml()
            return {local_name(root.tag): xml_to_data(root)}
        return self.text

    def api_error(self) -> str | None:
        """The server's own explanation in an error body (Finesse ApiErrors, GWS statusMessage)."""
        try:
            if self.is_json():
                body = json.loads(self.text)
                if isinstance(body, dict):
                    for key in ("statusMessage", "message", "error"):
                        if isinstance(body.get(key), str):
                            return str(body[key])
            elif self.is_xml():
                root = ET.fromstring(self.text)
                for element in root.iter():
                    if local_name(element.tag) in ("ErrorMessage", "ErrorData") and element.text:
                        return element.text.strip()
        except (ValueError, ET.ParseError):
            return None
        return None


class RestClient:
    """A long-lived async HTTP client for one endpoint (connection reuse, TLS, basic auth)."""

    def __init__(self, endpoint: Endpoint, *, log: Log | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.endpoint = endpoint
        self._log = log
        self._base = endpoint.base_url
        # ops.rest.failover's choices of node for this host, made once a run and kept here.
        self.routes: dict[str, Any] = {}
        self._client = httpx.AsyncClient(
            base_url=endpoint.base_url,
            verify=ssl_context(endpoint.verify, endpoint.ca_bundle),
            timeout=httpx.Timeout(endpoint.timeout),
            follow_redirects=False,
            transport=transport,
            headers={"User-Agent": "finesse-ops"},
        )

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def base_url(self) -> str:
        """Where requests go now: the endpoint's node, or the one `use` chose."""
        return self._base

    def use(self, base_url: str | None) -> None:
        """Send the following requests to `base_url` (another node of the cluster); None: the endpoint's own."""
        self._base = base_url or self.endpoint.base_url

    def note(self, text: str) -> None:
        """A line for the host's transcript (where the run keeps one)."""
        if self._log is not None:
            self._log(text)

    def url(self, path: str, base: str | None = None) -> str:
        return (base or self._base).rstrip("/") + "/" + path.lstrip("/")

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: str | bytes | None = None,
        json_body: Any = None,
        auth: bool = True,
        credentials: tuple[str, Secret] | None = None,
        expect: Iterable[int] | None = None,
        timeout: float | None = None,
        base: str | None = None,
    ) -> Response:
        """Send one request (to `base`, another node, when given); a status outside `expect` (default:
        any 2xx) raises RestHTTPError."""
        method = method.upper()
        url = self.url(path, base)
        what = f"{method} {url}"
        params = {k: _query_value(v) for k, v in (query or {}).items()}
        try:
            prepared = self._client.build_request(
                method, url, params=params or None, headers=dict(headers or {}), content=content, json=json_body,
                timeout=httpx.Timeout(timeout) if timeout is not None else httpx.USE_CLIENT_DEFAULT)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, TypeError) as exc:
            raise RestError(f"{what}: cannot build the request: {exc}") from None
        self._check_length(prepared, base or self._base, path, params)
        username, password = credentials if credentials is not None else (self.endpoint.username,
                                                                          self.endpoint.password)
        basic: httpx.BasicAuth | None = None
        if auth:
            if username is None or password is None:
                raise RestError(f"{what}: no credentials configured for {self.endpoint.name} "
                                "(set rest.username and rest.password in the inventory)")
            basic = httpx.BasicAuth(username, password.reveal())
            register_basic_auth(username, password)
        started = time.monotonic()
        try:
            reply = await self._client.send(prepared, auth=basic)
        except httpx.TimeoutException as exc:
            raise RestError(f"timed out after {timeout or self.endpoint.timeout:g}s waiting for {what} "
                            f"({type(exc).__name__})") from None
        except httpx.ConnectError as exc:
            detail = str(exc) or type(exc).__name__
            hint = ""
            if "CERTIFICATE_VERIFY_FAILED" in detail or "certificate" in detail.lower():
                hint = (" (the server's TLS certificate is not trusted: set rest.ca_bundle to the CA that signed"
                        " it; rest.verify: false only for a lab)")
            raise RestError(f"cannot connect for {what}: {detail}{hint}") from None
        except httpx.HTTPError as exc:
            raise RestError(f"{what} failed: {type(exc).__name__}: {exc}") from None
        elapsed = int((time.monotonic() - started) * 1000)
        response = Response(method=method, url=str(reply.url), status=reply.status_code,
                            reason=reply.reason_phrase, headers={k.lower(): v for k, v in reply.headers.items()},
                            text=reply.text, elapsed_ms=elapsed)
        if self._log is not None:
            self._log(f"{response.what} -> {response.status} {response.reason} ({elapsed} ms)")
        allowed = set(expect) if expect is not None else None
        ok = response.status in allowed if allowed is not None else 200 <= response.status < 300
        if not ok:
            raise RestHTTPError(self._status_message(response, username if auth else None), response)
        return response

    def _check_length(self, prepared: httpx.Request, base: str, path: str, params: Mapping[str, str]) -> None:
        limit = self.endpoint.max_url_length
        full = str(prepared.url)
        if limit is None or len(full) <= limit:
            return
        parts = [(f"the base {base}", len(base)), (f"the path {snippet(path, 60)}", len(path))]
        parts += [(f"query parameter {snippet(name, 40)!r}", len(str(httpx.QueryParams({name: value}))))
                  for name, value in params.items()]
        where = ", ".join(f"{name} ({size:,})" for name, size in sorted(parts, key=lambda part: -part[1]))
        source = f" ({self.endpoint.max_url_source})" if self.endpoint.max_url_source else ""
        raise URLTooLong(f"refused before sending: {prepared.method} {snippet(full, 100)} would be a URL of "
                         f"{len(full):,} characters, and {self.endpoint.name}'s API takes at most {limit:,}{source}; "
                         f"the characters come from {where}")

    def _status_message(self, response: Response, username: str | None) -> str:
        message = f"HTTP {response.status} {response.reason} from {response.what}"
        if response.status == 401 and username is not None:
            message += (f": the credentials of {username!r} were refused (wrong password, or the account is"
                        " locked after repeated failed sign-ins)")
        detail = response.api_error()
        if detail:
            message += f" [server: {snippet(detail, 160)}]"
        return message


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
