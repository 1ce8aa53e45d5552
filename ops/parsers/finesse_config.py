"""Pure functions from the Finesse configuration APIs' XML to records.

ReasonCodes, WrapUpReasons, PhoneBooks, Contacts, Teams and a Team's lists, and the `ApiErrors`
body of a refusal. Each record keeps the database id (read from the object's `uri`) for the
calls that follow, but plans match by natural key, never by id. Each raises `FinesseParseError`
naming what was expected and what came.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from ops.parsers.finesse import FinesseParseError, document
from ops.parsers.xml import ParseError, local_name, parse_xml

__all__ = ["id_from_uri", "parse_api_errors", "parse_contacts", "parse_phone_books", "parse_reason_codes",
           "parse_team", "parse_teams", "parse_wrap_up_reasons"]

_ID_RE = re.compile(r"/([^/]+)/?\Z")


_document = document  # the Finesse XML root check, shared with ops.parsers.finesse


def _children(root: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in root if local_name(child.tag) == name]


def _text(element: ET.Element, name: str) -> str | None:
    found = _children(element, name)
    return (found[0].text or "").strip() if found else None


def _flag(element: ET.Element, name: str, where: str) -> bool:
    value = (_text(element, name) or "").lower()
    if value not in ("true", "false"):
        raise FinesseParseError(f"{where}: <{name}> is {value or 'missing'}, expected true or false")
    return value == "true"


def id_from_uri(uri: str | None, where: str = "the object") -> str:
    """The database id that ends an object's uri (`/finesse/api/ReasonCode/12` -> "12"), or from a
    create's `Location:` header (an absolute URL)."""
    match = _ID_RE.search((uri or "").split("?")[0])
    if match is None:
        raise FinesseParseError(f"{where}: no id in uri {uri!r}")
    return match.group(1)


def _uri_id(element: ET.Element, where: str) -> tuple[str, str]:
    uri = _text(element, "uri")
    return uri or "", id_from_uri(uri, where)


def parse_reason_codes(text: str, where: str = "ReasonCodes") -> list[dict[str, Any]]:
    """`<ReasonCodes>` (every category, one, or a team's): id, uri, category, code, label, for_all, system_code."""
    records = []
    for item in _children(_document(text, "ReasonCodes", where), "ReasonCode"):
        uri, ident = _uri_id(item, where)
        code = _text(item, "code") or ""
        if not re.fullmatch(r"\d+", code):
            raise FinesseParseError(f"{where}: reason code {uri} has code {code!r}, expected a number")
        category = _text(item, "category") or ""
        if category not in ("NOT_READY", "LOGOUT"):
            raise FinesseParseError(f"{where}: reason code {uri} has category {category!r}")
        system = _text(item, "systemCode")
        records.append({"id": ident, "uri": uri, "category": category, "code": int(code),
                        "label": _text(item, "label") or "", "for_all": _flag(item, "forAll", where),
                        "system_code": (system or "").lower() == "true"})
    return records


def parse_wrap_up_reasons(text: str, where: str = "WrapUpReasons") -> list[dict[str, Any]]:
    records = []
    for item in _children(_document(text, "WrapUpReasons", where), "WrapUpReason"):
        uri, ident = _uri_id(item, where)
        records.append({"id": ident, "uri": uri, "label": _text(item, "label") or "",
                        "for_all": _flag(item, "forAll", where)})
    return records


def parse_phone_books(text: str, where: str = "PhoneBooks") -> list[dict[str, Any]]:
    records = []
    for item in _children(_document(text, "PhoneBooks", where), "PhoneBook"):
        uri, ident = _uri_id(item, where)
        kind = _text(item, "type") or ""
        if kind not in ("GLOBAL", "TEAM"):
            raise FinesseParseError(f"{where}: phone book {uri} has type {kind!r}, expected GLOBAL or TEAM")
        records.append({"id": ident, "uri": uri, "name": _text(item, "name") or "", "type": kind})
    return records


def parse_contacts(text: str, where: str = "Contacts") -> list[dict[str, Any]]:
    records = []
    for item in _children(_document(text, "Contacts", where), "Contact"):
        uri, ident = _uri_id(item, where)
        records.append({"id": ident, "uri": uri, "first_name": _text(item, "firstName") or "",
                        "last_name": _text(item, "lastName") or "", "phone_number": _text(item, "phoneNumber") or "",
                        "description": _text(item, "description") or ""})
    return records


def parse_teams(text: str, where: str = "Teams") -> list[dict[str, Any]]:
    """`GET /finesse/api/Teams`: each team's id and name."""
    records = []
    for item in _children(_document(text, "Teams", where), "Team"):
        uri = _text(item, "uri")
        ident = _text(item, "id") or id_from_uri(uri, where)
        records.append({"id": ident, "uri": uri or "", "name": _text(item, "name") or ""})
    return records


def parse_team(text: str, where: str = "Team") -> dict[str, Any]:
    """`GET /finesse/api/Team/<id>`: id, name and the agents' login ids."""
    root = _document(text, "Team", where)
    ident = _text(root, "id") or id_from_uri(_text(root, "uri"), where)
    users = _children(root, "users")
    agents = [_text(u, "loginId") or "" for u in _children(users[0], "User")] if users else []
    return {"id": ident, "name": _text(root, "name") or "", "agents": agents}


def parse_api_errors(text: str) -> list[dict[str, str]]:
    """The `ApiError`s of an `<ApiErrors>` body (type, message, data), or [] when the body is not one."""
    try:
        root = parse_xml(text, "ApiErrors")
    except ParseError:
        return []
    if local_name(root.tag) != "ApiErrors":
        return []
    return [{"type": _text(e, "ErrorType") or "", "message": _text(e, "ErrorMessage") or "",
             "data": _text(e, "ErrorData") or ""} for e in _children(root, "ApiError")]
