"""Finesse configuration API client: reason codes, wrap-up reasons, phone books and contacts, team lists.

POST creates, PUT changes, DELETE removes (seed 000). A refusal with an `ApiErrors` body raises
`FinesseApiError`, carrying its ErrorType, ErrorMessage and ErrorData. Paths and documents as in
the Finesse developer guide's configuration APIs; a team's list is replaced whole by a PUT of
the items' uris.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from ops.parsers.finesse_config import (
    id_from_uri,
    parse_api_errors,
    parse_contacts,
    parse_phone_books,
    parse_reason_codes,
    parse_teams,
    parse_wrap_up_reasons,
)
from ops.parsers.xml import snippet
from ops.rest.finesse import XML
from ops.rest.http import Response, RestClient, RestError, RestHTTPError

API = "/finesse/api"
CATEGORIES = ("NOT_READY", "LOGOUT")


class FinesseApiError(RestError):
    """Finesse refused a call with an `ApiErrors` body."""

    def __init__(self, what: str, status: int, error_type: str, error_message: str, error_data: str) -> None:
        detail = f"{error_type}: {error_message}" + (f" ({error_data})" if error_data else "")
        super().__init__(f"{what} was refused: HTTP {status} {snippet(detail, 300)}")
        self.status, self.error_type = status, error_type
        self.error_message, self.error_data = error_message, error_data

    def as_data(self) -> dict[str, Any]:
        return {"status": self.status, "ErrorType": self.error_type, "ErrorMessage": self.error_message,
                "ErrorData": self.error_data}


def _fields(root: str, values: Mapping[str, object]) -> str:
    inner = "".join(f"<{name}>{escape(_text(value))}</{name}>" for name, value in values.items() if value is not None)
    return f"<{root}>{inner}</{root}>"


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _uri_list(root: str, child: str, uris: list[str]) -> str:
    return f"<{root}>" + "".join(f"<{child}><uri>{escape(u)}</uri></{child}>" for u in uris) + f"</{root}>"


class ConfigClient:
    """The configuration calls of one Finesse node, over a host's `RestClient`."""

    def __init__(self, http: RestClient) -> None:
        self.http = http

    async def _call(self, method: str, path: str, *, body: str | None = None,
                    query: Mapping[str, str] | None = None) -> Response:
        try:
            return await self.http.request(method, path, query=query, content=body,
                                           headers=XML if body is not None else {"Accept": XML["Accept"]})
        except RestHTTPError as exc:
            errors = parse_api_errors(exc.response.text)
            if errors:
                first = errors[0]
                raise FinesseApiError(f"{method} {path}", exc.status, first["type"], first["message"],
                                      first["data"]) from None
            raise

    async def _get(self, path: str, query: Mapping[str, str] | None = None) -> tuple[str, str]:
        response = await self._call("GET", path, query=query)
        return response.text, f"the reply to {response.what}"

    async def _create(self, path: str, body: str) -> str:
        response = await self._call("POST", path, body=body)
        return id_from_uri(response.headers.get("location"), f"the Location of {response.what}")

    # ------------------------------------------------------------------ reads

    async def reason_codes(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for category in CATEGORIES:
            found += parse_reason_codes(*await self._get(f"{API}/ReasonCodes", {"category": category}))
        return found

    async def wrap_up_reasons(self) -> list[dict[str, Any]]:
        return parse_wrap_up_reasons(*await self._get(f"{API}/WrapUpReasons"))

    async def phone_books(self) -> list[dict[str, Any]]:
        return parse_phone_books(*await self._get(f"{API}/PhoneBooks"))

    async def contacts(self, book_id: str) -> list[dict[str, Any]]:
        return parse_contacts(*await self._get(f"{API}/PhoneBook/{book_id}/Contacts"))

    async def teams(self) -> list[dict[str, Any]]:
        return parse_teams(*await self._get(f"{API}/Teams"))

    async def team_reason_codes(self, team_id: str, category: str) -> list[dict[str, Any]]:
        return parse_reason_codes(*await self._get(f"{API}/Team/{team_id}/ReasonCodes", {"category": category}))

    async def team_wrap_up_reasons(self, team_id: str) -> list[dict[str, Any]]:
        return parse_wrap_up_reasons(*await self._get(f"{API}/Team/{team_id}/WrapUpReasons"))

    async def team_phone_books(self, team_id: str) -> list[dict[str, Any]]:
        return parse_phone_books(*await self._get(f"{API}/Team/{team_id}/PhoneBooks"))

    # ------------------------------------------------------------------ changes

    async def create_reason_code(self, category: str, code: int, label: str, for_all: bool) -> str:
        return await self._create(f"{API}/ReasonCode", _fields("ReasonCode", {
            "category": category, "code": code, "label": label, "forAll": for_all}))

    async def update_reason_code(self, ident: str, changes: Mapping[str, object]) -> None:
        await self._call("PUT", f"{API}/ReasonCode/{ident}", body=_fields("ReasonCode", changes))

    async def delete_reason_code(self, ident: str) -> None:
        await self._call("DELETE", f"{API}/ReasonCode/{ident}")

    async def create_wrap_up_reason(self, label: str, for_all: bool) -> str:
        return await self._create(f"{API}/WrapUpReason", _fields("WrapUpReason", {"label": label, "forAll": for_all}))

    async def update_wrap_up_reason(self, ident: str, changes: Mapping[str, object]) -> None:
        await self._call("PUT", f"{API}/WrapUpReason/{ident}", body=_fields("WrapUpReason", changes))

    async def delete_wrap_up_reason(self, ident: str) -> None:
        await self._call("DELETE", f"{API}/WrapUpReason/{ident}")

    async def create_phone_book(self, name: str, kind: str) -> str:
        return await self._create(f"{API}/PhoneBook", _fields("PhoneBook", {"name": name, "type": kind}))

    async def update_phone_book(self, ident: str, changes: Mapping[str, object]) -> None:
        await self._call("PUT", f"{API}/PhoneBook/{ident}", body=_fields("PhoneBook", changes))

    async def delete_phone_book(self, ident: str) -> None:
        await self._call("DELETE", f"{API}/PhoneBook/{ident}")

    async def create_contact(self, book_id: str, values: Mapping[str, object]) -> str:
        return await self._create(f"{API}/PhoneBook/{book_id}/Contact", _fields("Contact", values))

    async def update_contact(self, book_id: str, ident: str, changes: Mapping[str, object]) -> None:
        await self._call("PUT", f"{API}/PhoneBook/{book_id}/Contact/{ident}", body=_fields("Contact", changes))

    async def delete_contact(self, book_id: str, ident: str) -> None:
        await self._call("DELETE", f"{API}/PhoneBook/{book_id}/Contact/{ident}")

    async def set_team_reason_codes(self, team_id: str, category: str, ids: list[str]) -> None:
        body = _uri_list("ReasonCodes", "ReasonCode", [f"{API}/ReasonCode/{i}" for i in ids])
        await self._call("PUT", f"{API}/Team/{team_id}/ReasonCodes", body=body, query={"category": category})

    async def set_team_wrap_up_reasons(self, team_id: str, ids: list[str]) -> None:
        body = _uri_list("WrapUpReasons", "WrapUpReason", [f"{API}/WrapUpReason/{i}" for i in ids])
        await self._call("PUT", f"{API}/Team/{team_id}/WrapUpReasons", body=body)

    async def set_team_phone_books(self, team_id: str, ids: list[str]) -> None:
        body = _uri_list("PhoneBooks", "PhoneBook", [f"{API}/PhoneBook/{i}" for i in ids])
        await self._call("PUT", f"{API}/Team/{team_id}/PhoneBooks", body=body)
