"""Requests and replies as the lab's REST apps see them (no HTTP server details)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def bypass_cache(self) -> bool:
        return self.query.get("bypassServerCache", "").lower() == "true"

    def basic_auth(self) -> tuple[str, str] | None:
        header = self.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or not value:
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        return (username, password) if sep else None


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def xml(status: int, text: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, (XML_DECL + text).encode(), "application/xml", headers or {})


def json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(data).encode(), "application/json", headers or {})


def truncated(reply: Reply) -> Reply:
    """The fault `rest_malformed`: a body cut off halfway, as from a proxy that gave up."""
    if not reply.body or not (reply.content_type.endswith("xml") or reply.content_type.endswith("json")):
        return reply
    return Reply(reply.status, reply.body[: max(1, len(reply.body) // 2)], reply.content_type, reply.headers)
