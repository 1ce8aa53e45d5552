"""XML as the Finesse APIs send it: parsed leniently, read generically. Pure text to records."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

__all__ = ["ParseError", "local_name", "parse_xml", "snippet", "xml_to_data"]


class ParseError(ValueError):
    """A body that is not the document a parser reads; the message says what came."""


def snippet(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


_NS_RE = re.compile(r"^\{[^}]*\}")


def _unbound_prefixes(text: str) -> list[str]:
    declared = set(re.findall(r"xmlns:([A-Za-z_][\w.-]*)\s*=", text))
    used = set(re.findall(r"</?([A-Za-z_][\w.-]*):[A-Za-z_]", text))
    return sorted(used - declared - {"xml"})


def parse_xml(text: str, where: str = "the response") -> ET.Element:
    """Parse XML; prefixes used without a declaration (as in some Finesse samples) are tolerated."""
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        prefixes = _unbound_prefixes(text)
        if "unbound prefix" in str(exc) and prefixes:
            declarations = " ".join(f'xmlns:{p}="urn:undeclared:{p}"' for p in prefixes)
            patched = re.sub(r"(<(?!\?)[A-Za-z_][\w.:-]*)", rf"\1 {declarations}", text, count=1)
            try:
                return ET.fromstring(patched)
            except ET.ParseError:
                pass
        raise ParseError(f"malformed XML in {where}: {exc} (body starts: {snippet(text)!r})") from None


def local_name(tag: str) -> str:
    return _NS_RE.sub("", tag).split(":")[-1]


def xml_to_data(element: ET.Element) -> Any:
    """A generic mapping of XML: a leaf is its text, repeated children become lists, attributes `@name`."""
    children = list(element)
    attributes = {f"@{local_name(k)}": v for k, v in element.attrib.items() if not k.startswith("{http://www.w3")}
    if not children:
        text = (element.text or "").strip()
        if attributes:
            return {**attributes, **({"#text": text} if text else {})}
        return text
    data: dict[str, Any] = dict(attributes)
    for child in children:
        key = local_name(child.tag)
        value = xml_to_data(child)
        if key in data:
            if not isinstance(data[key], list):
                data[key] = [data[key]]
            data[key].append(value)
        else:
            data[key] = value
    return data
