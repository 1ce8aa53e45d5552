"""The lab's Finesse configuration APIs: ReasonCode, WrapUpReason, PhoneBook and Contact, Team
assignments, and the TeamResource reads agents make.

Verbs as seed 000 says (POST creates, PUT changes, DELETE removes, GET reads); the caching of
TeamResource as seed 001 says. The seeds show none of these documents: the XML shapes follow the
object structures of Cisco's Finesse developer guide (ReasonCode, WrapUpReason, PhoneBook,
Contact, Team; developer.cisco.com/docs/finesse), as do these behaviours:
- a create answers 200 with an empty body and a `Location:` header with the new object's URL
  (ReasonCode—Create: "The response contains an empty response body, and a location header
  denoting the absolute URL of the newly created ReasonCode object"); the lab does the same for
  every object it creates;
- errors are `<ApiErrors><ApiError><ErrorType/><ErrorMessage/><ErrorData/></ApiError></ApiErrors>`
  with the ErrorTypes of the API error tables (Bad Request, Finesse API Error, Maximum Exceeded,
  Invalid Input, Parameter Missing, In Use, Forbidden, Not Found). The ErrorMessage wordings of
  a real server are not in those pages: the lab's own say what was refused and why;
- 403 Forbidden on the secondary node: "Configuration APIs cannot be run against the secondary
  Finesse server" (every configuration API's error table). Whether a secondary refuses reads as
  well is not said; the lab refuses the changes (POST, PUT, DELETE) and serves reads.
`GET /finesse/api/Teams` (every team: `<Teams><Team><uri/><id/><name/></Team></Teams>`) is not in
those pages either; public administration scripts read it (`./Team/uri`, then each Team).
Not documented in the pages found, so shaped after the GET it replaces: the body of a team's
list update (`PUT /finesse/api/Team/<id>/ReasonCodes?category=...`) is that list's document
with each item's `uri`. Workflows are not modelled (their triggers, conditions and actions are
more than the lab could reproduce faithfully): `/finesse/api/Workflow...` answers 404.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

from ops.lab.rest.configdb import CATEGORIES, ConfigDB, ConfigError, Contact, PhoneBook, ReasonCode, WrapUpReason
from ops.lab.rest.state import Node, RestState
from ops.lab.rest.wire import Reply, Request, xml

API = "/finesse/api"
FORBIDDEN_TEXT = "Configuration APIs cannot be run against the secondary Finesse server."

ROUTES = re.compile(
    r"^/finesse/api/(?:"
    r"(?P<list>ReasonCodes|WrapUpReasons|PhoneBooks|Teams)"
    r"|(?P<kind>ReasonCode|WrapUpReason|PhoneBook)(?:/(?P<id>\d+))?"
    r"|PhoneBook/(?P<book>\d+)/(?:(?P<contacts>Contacts)|Contact(?:/(?P<contact>\d+))?)"
    r"|Team/(?P<team>[^/]+)(?:/(?P<team_list>ReasonCodes|WrapUpReasons|PhoneBooks))?"
    r"|TeamResource/(?P<resource_team>[^/]+)/(?P<resource>ReasonCodes|WrapUpReasons|PhoneBooks)"
    r")$")


def api_errors(status: int, error_type: str, message: str, data: str = "") -> Reply:
    body = (f"<ApiErrors><ApiError><ErrorType>{escape(error_type)}</ErrorType>"
            f"<ErrorMessage>{escape(message)}</ErrorMessage><ErrorData>{escape(data)}</ErrorData>"
            "</ApiError></ApiErrors>")
    return xml(status, body)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def reason_code_xml(item: ReasonCode) -> str:
    return (f"<ReasonCode><uri>{API}/ReasonCode/{item.id}</uri><category>{item.category}</category>"
            f"<code>{item.code}</code><label>{escape(item.label)}</label><forAll>{_bool(item.for_all)}</forAll>"
            f"<systemCode>{_bool(item.system_code)}</systemCode></ReasonCode>")


def wrap_up_xml(item: WrapUpReason) -> str:
    return (f"<WrapUpReason><uri>{API}/WrapUpReason/{item.id}</uri><label>{escape(item.label)}</label>"
            f"<forAll>{_bool(item.for_all)}</forAll></WrapUpReason>")


def contact_xml(book: PhoneBook, item: Contact) -> str:
    return (f"<Contact><firstName>{escape(item.first_name)}</firstName><lastName>{escape(item.last_name)}</lastName>"
            f"<phoneNumber>{escape(item.phone_number)}</phoneNumber>"
            f"<description>{escape(item.description)}</description>"
            f"<uri>{API}/PhoneBook/{book.id}/Contact/{item.id}</uri></Contact>")


def phone_book_xml(book: PhoneBook, with_contacts: bool = False) -> str:
    inner = (f"<uri>{API}/PhoneBook/{book.id}</uri><name>{escape(book.name)}</name><type>{book.type}</type>")
    if with_contacts:  # TeamResource—Get Phone Books embeds them
        inner += "<Contacts>" + "".join(contact_xml(book, c) for c in book.contacts.values()) + "</Contacts>"
    else:
        inner += f"<contacts>{API}/PhoneBook/{book.id}/Contacts</contacts>"
    return f"<PhoneBook>{inner}</PhoneBook>"


def _reason_codes_doc(items: list[ReasonCode], category: str) -> Reply:
    attribute = f" category={quoteattr(category)}" if category in CATEGORIES else ""
    return xml(200, f"<ReasonCodes{attribute}>" + "".join(reason_code_xml(i) for i in items) + "</ReasonCodes>")


def _wrap_ups_doc(items: list[WrapUpReason]) -> Reply:
    return xml(200, "<WrapUpReasons>" + "".join(wrap_up_xml(i) for i in items) + "</WrapUpReasons>")


def _books_doc(items: list[PhoneBook], with_contacts: bool = False) -> Reply:
    return xml(200, "<PhoneBooks>" + "".join(phone_book_xml(b, with_contacts) for b in items) + "</PhoneBooks>")


def _category(req: Request, allow_all: bool) -> str:
    category = req.query.get("category", "")
    allowed = CATEGORIES + (("ALL",) if allow_all else ())
    if category not in allowed:
        raise ConfigError(400, "Bad Request", f"category must be one of {', '.join(allowed)}", category)
    return category


# ---------------------------------------------------------------- request bodies


def _body(req: Request, root: str) -> ET.Element:
    try:
        element = ET.fromstring(req.body or b"")
    except ET.ParseError as exc:
        raise ConfigError(400, "Bad Request", f"Invalid XML: {exc}") from None
    if element.tag != root:
        raise ConfigError(400, "Bad Request", f"expected a <{root}> document, got <{element.tag}>", element.tag)
    return element


def _text(element: ET.Element, name: str) -> str | None:
    # "If you provide two or more duplicate tags in the XML body for a PUT operation, the value of
    # the last duplicate tag is processed" (ReasonCode—Update).
    found = element.findall(name)
    return (found[-1].text or "").strip() if found else None


def _int(element: ET.Element, name: str) -> int | None:
    value = _text(element, name)
    if value is None:
        return None
    if not re.fullmatch(r"-?\d{1,9}", value):
        raise ConfigError(400, "Bad Request", f"{name} must be a number", value)
    return int(value)


def _flag(element: ET.Element, name: str) -> bool | None:
    value = _text(element, name)
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise ConfigError(400, "Bad Request", f"{name} must be true or false", value)
    return value.lower() == "true"


def _uris(req: Request, root: str, child: str) -> list[int]:
    ids = []
    for item in _body(req, root).findall(child):
        uri = _text(item, "uri") or ""
        match = re.search(r"/(\d+)/?\Z", uri)
        if match is None:
            raise ConfigError(400, "Bad Request", f"each <{child}> needs the <uri> of an existing one", uri)
        ids.append(int(match.group(1)))
    return ids


def _created(req: Request, path: str) -> Reply:
    host = req.headers.get("host", "localhost")
    return Reply(200, b"", "application/xml", {"Location": f"https://{host}{path}"})


OK = Reply(200, b"", "application/xml")


# ---------------------------------------------------------------- the handlers


def _reason_codes(db: ConfigDB, req: Request, ident: int | None) -> tuple[Reply, set[str]]:
    if ident is None:
        if req.method != "POST":
            raise _not_allowed(req)
        body = _body(req, "ReasonCode")
        item = db.add_reason_code(_text(body, "category"), _int(body, "code"), _text(body, "label"),
                                  _flag(body, "forAll"))
        return _created(req, f"{API}/ReasonCode/{item.id}"), set()
    if req.method == "GET":
        found = db.reason_codes.get(ident)
        if found is None:
            raise ConfigError(404, "Not Found", f"ReasonCode {ident} not found", str(ident))
        return xml(200, reason_code_xml(found)), set()
    if req.method == "PUT":
        body = _body(req, "ReasonCode")
        return OK, db.update_reason_code(ident, _int(body, "code"), _text(body, "label"), _flag(body, "forAll"))
    if req.method == "DELETE":
        return OK, db.delete_reason_code(ident)
    raise _not_allowed(req)


def _wrap_ups(db: ConfigDB, req: Request, ident: int | None) -> tuple[Reply, set[str]]:
    if ident is None:
        if req.method != "POST":
            raise _not_allowed(req)
        body = _body(req, "WrapUpReason")
        item = db.add_wrap_up_reason(_text(body, "label"), _flag(body, "forAll"))
        return _created(req, f"{API}/WrapUpReason/{item.id}"), set()
    if req.method == "GET":
        found = db.wrap_up_reasons.get(ident)
        if found is None:
            raise ConfigError(404, "Not Found", f"WrapUpReason {ident} not found", str(ident))
        return xml(200, wrap_up_xml(found)), set()
    if req.method == "PUT":
        body = _body(req, "WrapUpReason")
        return OK, db.update_wrap_up_reason(ident, _text(body, "label"), _flag(body, "forAll"))
    if req.method == "DELETE":
        return OK, db.delete_wrap_up_reason(ident)
    raise _not_allowed(req)


def _books(db: ConfigDB, req: Request, ident: int | None) -> tuple[Reply, set[str]]:
    if ident is None:
        if req.method != "POST":
            raise _not_allowed(req)
        body = _body(req, "PhoneBook")
        book = db.add_phone_book(_text(body, "name"), _text(body, "type"))
        return _created(req, f"{API}/PhoneBook/{book.id}"), set()
    if req.method == "GET":
        return xml(200, phone_book_xml(db.book(ident))), set()
    if req.method == "PUT":
        body = _body(req, "PhoneBook")
        return OK, db.update_phone_book(ident, _text(body, "name"), _text(body, "type"))
    if req.method == "DELETE":
        return OK, db.delete_phone_book(ident)
    raise _not_allowed(req)


def _contact_values(body: ET.Element) -> dict[str, str | None]:
    return {name: _text(body, name) for name in ("firstName", "lastName", "phoneNumber", "description")}


def _contacts(db: ConfigDB, req: Request, book_id: int, listing: bool, ident: int | None) -> tuple[Reply, set[str]]:
    book = db.book(book_id)
    if listing:
        if req.method != "GET":
            raise _not_allowed(req)
        return xml(200, "<Contacts>" + "".join(contact_xml(book, c) for c in book.contacts.values())
                   + "</Contacts>"), set()
    if ident is None:
        if req.method != "POST":
            raise _not_allowed(req)
        contact, teams = db.add_contact(book_id, _contact_values(_body(req, "Contact")))
        return _created(req, f"{API}/PhoneBook/{book_id}/Contact/{contact.id}"), teams
    if req.method == "GET":
        return xml(200, contact_xml(book, db.contact(book_id, ident))), set()
    if req.method == "PUT":
        return OK, db.update_contact(book_id, ident, _contact_values(_body(req, "Contact")))
    if req.method == "DELETE":
        return OK, db.delete_contact(book_id, ident)
    raise _not_allowed(req)


def _team(db: ConfigDB, state: RestState, req: Request, team_id: str, listing: str | None) -> tuple[Reply, set[str]]:
    team = db.team(team_id)
    if listing is None:
        if req.method != "GET":
            raise _not_allowed(req)
        users = "".join(
            f"<User><uri>{API}/User/{a.id}/</uri><loginId>{a.id}</loginId><firstName>{escape(a.first_name)}"
            f"</firstName><lastName>{escape(a.last_name)}</lastName><extension>{a.extension}</extension>"
            f"<pendingState></pendingState><state>{a.finesse_state}</state>"
            f"<stateChangeTime>{a.state_change_time}</stateChangeTime></User>"
            for a in (state.agents[i] for i in team.agents if i in state.agents))
        return xml(200, f"<Team><uri>{API}/Team/{team.id}</uri><id>{team.id}</id><name>{escape(team.name)}</name>"
                        f"<users>{users}</users></Team>"), set()
    if req.method not in ("GET", "PUT"):
        raise _not_allowed(req)
    if listing == "ReasonCodes":
        category = _category(req, allow_all=False)
        if req.method == "PUT":
            return OK, db.set_team_reason_codes(team.id, category, _uris(req, "ReasonCodes", "ReasonCode"))
        items = [db.reason_codes[i] for i in team.reason_codes if db.reason_codes[i].category == category]
        return _reason_codes_doc(items, category), set()
    if listing == "WrapUpReasons":
        if req.method == "PUT":
            return OK, db.set_team_wrap_up_reasons(team.id, _uris(req, "WrapUpReasons", "WrapUpReason"))
        return _wrap_ups_doc([db.wrap_up_reasons[i] for i in team.wrap_up_reasons]), set()
    if req.method == "PUT":
        return OK, db.set_team_phone_books(team.id, _uris(req, "PhoneBooks", "PhoneBook"))
    return _books_doc([db.phone_books[i] for i in team.phone_books]), set()


def team_resource(db: ConfigDB, req: Request, team_id: str, resource: str) -> Reply:
    """What an agent of the team sees: the global items, then the team's (TeamResource—Get Phone
    Books: "Contacts are retrieved from the global phone books first, followed by the team phone books")."""
    team = db.team(team_id)
    if resource == "ReasonCodes":
        category = _category(req, allow_all=False)
        items = [r for r in db.reason_codes.values() if r.category == category and r.for_all]
        items += [db.reason_codes[i] for i in team.reason_codes if db.reason_codes[i].category == category]
        return _reason_codes_doc(items, category)
    if resource == "WrapUpReasons":
        wrap_ups = [w for w in db.wrap_up_reasons.values() if w.for_all]
        return _wrap_ups_doc(wrap_ups + [db.wrap_up_reasons[i] for i in team.wrap_up_reasons])
    books = [b for b in db.phone_books.values() if b.type == "GLOBAL"]
    return _books_doc(books + [db.phone_books[i] for i in team.phone_books], with_contacts=True)


def _not_allowed(req: Request) -> ConfigError:
    return ConfigError(405, "Method Not Allowed", f"{req.method} is not supported on {req.path}", req.method)


def matches(path: str) -> re.Match[str] | None:
    return ROUTES.fullmatch(path)


def handle(state: RestState, node: Node, req: Request, route: re.Match[str],
           cached: Callable[[Reply, str], Reply]) -> Reply:
    """The answer to a configuration request the caller has signed in (the admin; a team's agent for
    TeamResource). `cached(fresh, key)` serves a cacheable read through the node's webproxy cache."""
    db = state.config
    try:
        if route["resource"]:
            with state.lock:
                fresh = team_resource(db, req, route["resource_team"], route["resource"])
            key = f"{req.path}?category={req.query.get('category', '')}"
            return cached(fresh, key)
        if req.method in ("POST", "PUT", "DELETE") and node.role == "secondary":
            return api_errors(403, "Forbidden", FORBIDDEN_TEXT, node.fqdn)
        with state.lock:
            if route["list"] == "ReasonCodes":
                category = _category(req, allow_all=True)
                if req.method != "GET":
                    raise _not_allowed(req)
                return _reason_codes_doc([r for r in db.reason_codes.values()
                                          if category == "ALL" or r.category == category], category)
            if route["list"]:
                if req.method != "GET":
                    raise _not_allowed(req)
                if route["list"] == "WrapUpReasons":
                    return _wrap_ups_doc(list(db.wrap_up_reasons.values()))
                if route["list"] == "Teams":
                    return xml(200, "<Teams>" + "".join(
                        f"<Team><uri>{API}/Team/{t.id}</uri><id>{t.id}</id><name>{escape(t.name)}</name></Team>"
                        for t in db.teams.values()) + "</Teams>")
                return _books_doc(list(db.phone_books.values()))
            ident = int(route["id"]) if route["id"] else None
            if route["kind"] == "ReasonCode":
                reply, cleared = _reason_codes(db, req, ident)
            elif route["kind"] == "WrapUpReason":
                reply, cleared = _wrap_ups(db, req, ident)
            elif route["kind"] == "PhoneBook":
                reply, cleared = _books(db, req, ident)
            elif route["book"]:
                contact = int(route["contact"]) if route["contact"] else None
                reply, cleared = _contacts(db, req, int(route["book"]), bool(route["contacts"]), contact)
            else:
                reply, cleared = _team(db, state, req, route["team"], route["team_list"])
        state.clear_team_resources(cleared)
        return reply
    except ConfigError as exc:
        return api_errors(exc.status, exc.error_type, exc.message, exc.data)
