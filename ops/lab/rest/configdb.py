"""The lab cluster's configuration database: reason codes, wrap-up reasons, phone books, team assignments.

What Finesse keeps for its configuration APIs (seed 001 lists them: Reason Codes, Wrap-up
Reasons, Teams, Team Resource, Workflows ...; seed 000 says they are created with POST, changed
with PUT, removed with DELETE). Both nodes of a lab cluster share one `ConfigDB`, as Finesse
replicates its configuration between the nodes.

The seeds name the objects and the verbs and nothing more. The rules below follow Cisco's
public pages, named where each rule is applied; where those pages are silent too, the comment
says so and the lab is lenient rather than invent a refusal:
- uniqueness: "The combination of code and category must be unique", and of label and category
  (ReasonCode API Parameters, developer.cisco.com/docs/finesse/reasoncode-api-parameters);
  "duplicated wrap-up reason" (WrapUpReason API Errors); a phone book name "must be unique"
  (Finesse administration guide, Manage Phone Books). Contacts: nothing documented, none enforced.
- maximum counts: 100 global and 100 team Not Ready reason codes (administration guide, Not
  Ready Reason Codes); 10 global and 300 team phone books; 6000 contacts a phone book, 50,000
  in all (PhoneBook and Contact objects). No maximum for Sign Out reason codes or wrap-up
  reasons was found: none is enforced, unless `LabConfig.config_max_items` lowers every
  maximum (so tests reach "Maximum Exceeded" without creating a hundred objects).
- field bounds: reason code 1-65535 on Unified CCE, 1-999 on Unified CCX; a label up to 40
  characters; a phone book name up to 64; contact names and description up to 128, phone
  number 1-32 (ReasonCode and Contact API parameters, Manage Phone Books).
- "In Use": a phone book assigned to a team cannot be deleted nor made global (PhoneBook API
  Errors). What Finesse does when a team's reason code or wrap-up reason is deleted is not
  documented there: the lab drops it from the teams.
Teams themselves come from the platform (Unified CCE/CCX); Finesse only assigns resources to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CATEGORIES = ("NOT_READY", "LOGOUT")
BOOK_TYPES = ("GLOBAL", "TEAM")
LABEL_MAX = 40
BOOK_NAME_MAX = 64
CONTACT_FIELD_MAX = {"firstName": 128, "lastName": 128, "phoneNumber": 32, "description": 128}
CODE_RANGE = {"UCCX": (1, 999)}  # anything else: Unified CCE's 1-65535
DEFAULT_CODE_RANGE = (1, 65535)

# (kind, scope) -> the documented maximum; None: no maximum documented.
MAXIMUM: dict[tuple[str, str], int | None] = {
    ("reason code", "NOT_READY global"): 100, ("reason code", "NOT_READY team"): 100,
    ("reason code", "LOGOUT global"): None, ("reason code", "LOGOUT team"): None,
    ("wrap-up reason", "global"): None, ("wrap-up reason", "team"): None,
    ("phone book", "GLOBAL"): 10, ("phone book", "TEAM"): 300,
    ("contact", "phone book"): 6000, ("contact", "system"): 50000,
}

# Teams as the platform defines them: id, name, member agents (ops.lab.rest.state.DEFAULT_AGENTS).
DEFAULT_TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("5001", "Sales", ("1001001", "1001002")),
    ("5002", "Support", ("1001003",)),
)


class ConfigError(Exception):
    """A request Finesse refuses: the HTTP status and the ApiError's ErrorType, ErrorMessage, ErrorData."""

    def __init__(self, status: int, error_type: str, message: str, data: str = "") -> None:
        super().__init__(message)
        self.status, self.error_type, self.message, self.data = status, error_type, message, data


def bad_request(message: str, data: str = "") -> ConfigError:
    return ConfigError(400, "Bad Request", message, data)


def not_found(what: str, ident: object) -> ConfigError:
    return ConfigError(404, "Not Found", f"{what} {ident} not found", str(ident))


@dataclass
class ReasonCode:
    id: int
    category: str
    code: int
    label: str
    for_all: bool
    system_code: bool = False


@dataclass
class WrapUpReason:
    id: int
    label: str
    for_all: bool


@dataclass
class Contact:
    id: int
    first_name: str
    last_name: str
    phone_number: str
    description: str


@dataclass
class PhoneBook:
    id: int
    name: str
    type: str
    contacts: dict[int, Contact] = field(default_factory=dict)


@dataclass
class Team:
    id: str
    name: str
    agents: tuple[str, ...]
    reason_codes: list[int] = field(default_factory=list)
    wrap_up_reasons: list[int] = field(default_factory=list)
    phone_books: list[int] = field(default_factory=list)


class ConfigDB:
    """The objects and their rules; callers hold the REST state's lock. Each change returns the ids
    of the teams whose TeamResource responses Finesse clears from the webproxy cache (seed 001:
    when reason codes, wrap-up reasons, phone books ... "specific to a Team are updated")."""

    def __init__(self, deployment_type: str = "UCCE", max_items: int | None = None,
                 teams: tuple[tuple[str, str, tuple[str, ...]], ...] = DEFAULT_TEAMS) -> None:
        self.code_range = CODE_RANGE.get(deployment_type, DEFAULT_CODE_RANGE)
        self.max_items = max_items
        self.reason_codes: dict[int, ReasonCode] = {}
        self.wrap_up_reasons: dict[int, WrapUpReason] = {}
        self.phone_books: dict[int, PhoneBook] = {}
        self.teams: dict[str, Team] = {t[0]: Team(*t) for t in teams}
        self._next = {"reason code": 1, "wrap-up reason": 1, "phone book": 1, "contact": 1}

    # -------------------------------------------------------------- shared rules

    def _id(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] = value + 1
        return value

    def _maximum(self, kind: str, scope: str) -> int | None:
        documented = MAXIMUM[(kind, scope)]
        if self.max_items is None:
            return documented
        return self.max_items if documented is None else min(documented, self.max_items)

    def _check_room(self, kind: str, scope: str, count: int) -> None:
        limit = self._maximum(kind, scope)
        if limit is not None and count >= limit:
            raise ConfigError(400, "Maximum Exceeded",
                              f"The maximum number of {kind}s ({scope}) has been exceeded: {limit}", str(limit))

    def teams_with(self, attribute: str, item_id: int) -> set[str]:
        return {t.id for t in self.teams.values() if item_id in getattr(t, attribute)}

    def _label(self, label: str | None, where: str) -> str:
        if label is None or not label.strip():
            raise bad_request(f"{where}: label is required", "label")
        if len(label) > LABEL_MAX:
            raise bad_request(f"{where}: label is longer than {LABEL_MAX} characters", label)
        return label

    # -------------------------------------------------------------- reason codes

    def _code(self, code: int | None) -> int:
        low, high = self.code_range
        if code is None or not low <= code <= high:
            raise bad_request(f"code must be between {low} and {high}", str(code))
        return code

    def _reason_clash(self, category: str, code: int, label: str, but: int | None = None) -> None:
        for other in self.reason_codes.values():
            if other.id == but or other.category != category:
                continue
            if other.code == code:
                raise ConfigError(400, "Finesse API Error",
                                  f"A {category} reason code with code {code} already exists", str(code))
            if other.label == label:
                raise ConfigError(400, "Finesse API Error",
                                  f"A {category} reason code with label {label} already exists", label)

    def _reason_scope_count(self, category: str, for_all: bool, but: int | None = None) -> int:
        return sum(1 for r in self.reason_codes.values()
                   if r.category == category and r.for_all == for_all and r.id != but)

    def add_reason_code(self, category: str | None, code: int | None, label: str | None,
                        for_all: bool | None) -> ReasonCode:
        if category not in CATEGORIES:
            raise bad_request("category must be NOT_READY or LOGOUT", str(category))
        if for_all is None:
            raise bad_request("forAll is required", "forAll")
        code, label = self._code(code), self._label(label, "reason code")
        self._reason_clash(category, code, label)
        scope = f"{category} {'global' if for_all else 'team'}"
        self._check_room("reason code", scope, self._reason_scope_count(category, for_all))
        item = ReasonCode(self._id("reason code"), category, code, label, for_all)
        self.reason_codes[item.id] = item
        return item

    def update_reason_code(self, ident: int, code: int | None, label: str | None, for_all: bool | None) -> set[str]:
        item = self.reason_codes.get(ident)
        if item is None:
            raise not_found("ReasonCode", ident)
        if code is None and label is None and for_all is None:
            # "If none of these parameters are present, Finesse returns an Invalid Input error."
            raise ConfigError(400, "Invalid Input", "give at least one of code, label, forAll")
        new_code = self._code(code) if code is not None else item.code
        new_label = self._label(label, "reason code") if label is not None else item.label
        new_for_all = item.for_all if for_all is None else for_all
        self._reason_clash(item.category, new_code, new_label, but=item.id)
        if new_for_all != item.for_all:
            scope = f"{item.category} {'global' if new_for_all else 'team'}"
            self._check_room("reason code", scope, self._reason_scope_count(item.category, new_for_all))
        cleared = self.teams_with("reason_codes", item.id) if not (item.for_all and new_for_all) else set()
        item.code, item.label, item.for_all = new_code, new_label, new_for_all
        return cleared

    def delete_reason_code(self, ident: int) -> set[str]:
        item = self.reason_codes.pop(ident, None)
        if item is None:
            raise not_found("ReasonCode", ident)
        teams = self.teams_with("reason_codes", ident)
        for team in teams:
            self.teams[team].reason_codes.remove(ident)
        return teams if not item.for_all else set()

    # -------------------------------------------------------------- wrap-up reasons

    def add_wrap_up_reason(self, label: str | None, for_all: bool | None) -> WrapUpReason:
        label = self._label(label, "wrap-up reason")
        if for_all is None:
            raise bad_request("forAll is required", "forAll")
        if any(w.label == label for w in self.wrap_up_reasons.values()):
            raise ConfigError(400, "Finesse API Error", f"A wrap-up reason with label {label} already exists", label)
        count = sum(1 for w in self.wrap_up_reasons.values() if w.for_all == for_all)
        self._check_room("wrap-up reason", "global" if for_all else "team", count)
        item = WrapUpReason(self._id("wrap-up reason"), label, for_all)
        self.wrap_up_reasons[item.id] = item
        return item

    def update_wrap_up_reason(self, ident: int, label: str | None, for_all: bool | None) -> set[str]:
        item = self.wrap_up_reasons.get(ident)
        if item is None:
            raise not_found("WrapUpReason", ident)
        if label is None and for_all is None:
            raise ConfigError(400, "Invalid Input", "give at least one of label, forAll")
        new_label = self._label(label, "wrap-up reason") if label is not None else item.label
        if any(w.label == new_label and w.id != ident for w in self.wrap_up_reasons.values()):
            raise ConfigError(400, "Finesse API Error", f"A wrap-up reason with label {new_label} already exists",
                              new_label)
        new_for_all = item.for_all if for_all is None else for_all
        if new_for_all != item.for_all:
            count = sum(1 for w in self.wrap_up_reasons.values() if w.for_all == new_for_all)
            self._check_room("wrap-up reason", "global" if new_for_all else "team", count)
        cleared = self.teams_with("wrap_up_reasons", ident) if not (item.for_all and new_for_all) else set()
        item.label, item.for_all = new_label, new_for_all
        return cleared

    def delete_wrap_up_reason(self, ident: int) -> set[str]:
        item = self.wrap_up_reasons.pop(ident, None)
        if item is None:
            raise not_found("WrapUpReason", ident)
        teams = self.teams_with("wrap_up_reasons", ident)
        for team in teams:
            self.teams[team].wrap_up_reasons.remove(ident)
        return teams if not item.for_all else set()

    # -------------------------------------------------------------- phone books and contacts

    def _book_name(self, name: str | None, but: int | None = None) -> str:
        if name is None or not name.strip():
            raise ConfigError(400, "Parameter Missing", "name is required", "name")
        if len(name) > BOOK_NAME_MAX:
            raise ConfigError(400, "Invalid Input", f"name is longer than {BOOK_NAME_MAX} characters", name)
        if any(b.name == name and b.id != but for b in self.phone_books.values()):
            raise ConfigError(400, "Finesse API Error", f"A phone book named {name} already exists", name)
        return name

    def _book_type(self, kind: str | None) -> str:
        if kind not in BOOK_TYPES:
            raise ConfigError(400, "Invalid Input", "type must be GLOBAL or TEAM", str(kind))
        return kind

    def book(self, ident: int) -> PhoneBook:
        book = self.phone_books.get(ident)
        if book is None:
            raise not_found("PhoneBook", ident)
        return book

    def add_phone_book(self, name: str | None, kind: str | None) -> PhoneBook:
        name, kind = self._book_name(name), self._book_type(kind)
        self._check_room("phone book", kind, sum(1 for b in self.phone_books.values() if b.type == kind))
        book = PhoneBook(self._id("phone book"), name, kind)
        self.phone_books[book.id] = book
        return book

    def update_phone_book(self, ident: int, name: str | None, kind: str | None) -> set[str]:
        book = self.book(ident)
        new_name = self._book_name(name, but=ident) if name is not None else book.name
        new_kind = self._book_type(kind) if kind is not None else book.type
        teams = self.teams_with("phone_books", ident)
        if new_kind != book.type:
            if new_kind == "GLOBAL" and teams:
                raise ConfigError(400, "In Use", f"phone book {book.name} is assigned to a team", book.name)
            self._check_room("phone book", new_kind, sum(1 for b in self.phone_books.values() if b.type == new_kind))
        cleared = teams if "TEAM" in (book.type, new_kind) else set()
        book.name, book.type = new_name, new_kind
        return cleared

    def delete_phone_book(self, ident: int) -> set[str]:
        book = self.book(ident)
        if self.teams_with("phone_books", ident):
            raise ConfigError(400, "In Use", f"phone book {book.name} is assigned to a team", book.name)
        del self.phone_books[ident]
        return set()

    def _contact_fields(self, values: dict[str, str | None], creating: bool) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, limit in CONTACT_FIELD_MAX.items():
            value = values.get(name)
            if value is None:
                continue
            if len(value) > limit:
                raise ConfigError(400, "Invalid Input", f"{name} is longer than {limit} characters", name)
            out[name] = value
        if creating and not out.get("phoneNumber"):
            raise ConfigError(400, "Parameter Missing", "phoneNumber is required", "phoneNumber")
        if "phoneNumber" in out and not out["phoneNumber"]:
            raise ConfigError(400, "Invalid Input", "phoneNumber cannot be blank", "phoneNumber")
        return out

    def _book_teams(self, book: PhoneBook) -> set[str]:
        return self.teams_with("phone_books", book.id) if book.type == "TEAM" else set()

    def add_contact(self, book_id: int, values: dict[str, str | None]) -> tuple[Contact, set[str]]:
        book = self.book(book_id)
        fields = self._contact_fields(values, creating=True)
        self._check_room("contact", "phone book", len(book.contacts))
        self._check_room("contact", "system", sum(len(b.contacts) for b in self.phone_books.values()))
        contact = Contact(self._id("contact"), fields.get("firstName", ""), fields.get("lastName", ""),
                          fields["phoneNumber"], fields.get("description", ""))
        book.contacts[contact.id] = contact
        return contact, self._book_teams(book)

    def contact(self, book_id: int, ident: int) -> Contact:
        found = self.book(book_id).contacts.get(ident)
        if found is None:
            raise not_found("Contact", ident)
        return found

    def update_contact(self, book_id: int, ident: int, values: dict[str, str | None]) -> set[str]:
        contact = self.contact(book_id, ident)
        fields = self._contact_fields(values, creating=False)
        contact.first_name = fields.get("firstName", contact.first_name)
        contact.last_name = fields.get("lastName", contact.last_name)
        contact.phone_number = fields.get("phoneNumber", contact.phone_number)
        contact.description = fields.get("description", contact.description)
        return self._book_teams(self.book(book_id))

    def delete_contact(self, book_id: int, ident: int) -> set[str]:
        self.contact(book_id, ident)
        book = self.book(book_id)
        del book.contacts[ident]
        return self._book_teams(book)

    # -------------------------------------------------------------- team assignments

    def team(self, ident: str) -> Team:
        team = self.teams.get(ident)
        if team is None:
            # The ErrorType and wording of the developer guide's Team example failure response.
            raise ConfigError(404, "finesse.api.team.team_assignment_invalid_team",
                              "HTTP Status code: 404 (Not Found) Api Error Type:finesse.api.team."
                              "team_assignment_invalid_team Error Message: This is not a valid team", ident)
        return team

    def set_team_reason_codes(self, team_id: str, category: str, ids: list[int]) -> set[str]:
        team = self.team(team_id)
        for ident in ids:
            item = self.reason_codes.get(ident)
            if item is None or item.category != category:
                raise ConfigError(400, "Finesse API Error", f"{category} reason code {ident} does not exist",
                                  str(ident))
        others = [i for i in team.reason_codes if self.reason_codes[i].category != category]
        team.reason_codes = others + list(dict.fromkeys(ids))
        return {team.id}

    def set_team_wrap_up_reasons(self, team_id: str, ids: list[int]) -> set[str]:
        team = self.team(team_id)
        for ident in ids:
            if ident not in self.wrap_up_reasons:
                raise ConfigError(400, "Finesse API Error", f"wrap-up reason {ident} does not exist", str(ident))
        team.wrap_up_reasons = list(dict.fromkeys(ids))
        return {team.id}

    def set_team_phone_books(self, team_id: str, ids: list[int]) -> set[str]:
        team = self.team(team_id)
        for ident in ids:
            if ident not in self.phone_books:
                raise ConfigError(400, "Finesse API Error", f"phone book {ident} does not exist", str(ident))
        team.phone_books = list(dict.fromkeys(ids))
        return {team.id}
