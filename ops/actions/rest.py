"""`rest` step: any HTTP call to a host's Finesse (or GWS) API, the response parsed for `register`/`when`.

```yaml
- name: Chat configuration, straight from the server
  rest:
    method: GET
    path: /finesse/api/ChatConfig
    bypass_cache: true          # adds bypassServerCache=true
    expect_status: [200]
  register: chat
- name: Reason code
  rest: {method: POST, path: /finesse/api/ReasonCodes, xml: "<ReasonCode>...</ReasonCode>"}
```
The registered result holds `status`, `url`, `headers`, `text` and `body` (JSON as is; XML as a
mapping keyed by the root element, e.g. `chat.body.ChatConfig.chatServer`).

Also the base of every REST step kind: `RestAction.run` first chooses the Finesse node the step
talks to (ops.rest.failover: the addressed node, one that is IN_SERVICE, or the primary, as the
step kind or the `node:` argument asks), then turns REST, parse and secret errors into a failed
step with a message naming the call. A step that moved to another node says so in its message
and in `node` of its result. Genesys Web Services has no SystemInfo: its steps stay where the
inventory points.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ops.actions.base import Action, Args, HostContext, StepFailed, StepResult
from ops.inventory import SecretReference
from ops.parsers.xml import ParseError, local_name, xml_to_data
from ops.rest.failover import Route, Want, route
from ops.rest.finesse import cache_query
from ops.rest.http import RestError
from ops.secrets import Secret, SecretError


class CredentialArgs(Args):
    """Optional per-step credentials (e.g. an agent's), instead of the inventory's."""

    username: str | None = None
    password: SecretReference | None = None

    @model_validator(mode="after")
    def _both(self) -> CredentialArgs:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


def step_credentials(ctx: HostContext, args: CredentialArgs) -> tuple[str, Secret] | None:
    if args.username is None or args.password is None:
        return None
    return args.username, ctx.secret(args.password)


class RestAction(Action):
    """A step that talks HTTP; subclasses implement `call`.

    `api` is the API the step calls; `node` which Finesse node it wants (ops.rest.failover): a step
    that examines one node keeps to the one addressed, a step that acts on the cluster goes to one
    that is IN_SERVICE, a configuration change to the primary.
    """

    uses_rest = True
    api: ClassVar[str] = "finesse"
    node: ClassVar[Want] = "in_service"

    def wants(self, args: Any) -> tuple[str, Want]:
        """The API and the node this step's calls go to."""
        return self.api, self.node

    async def route(self, ctx: HostContext, args: Any) -> Route | None:
        api, want = self.wants(args)
        return await route(ctx.rest(api), want) if api == "finesse" else None

    async def run(self, ctx: HostContext, args: Any) -> StepResult:
        chosen: Route | None = None
        try:
            chosen = await self.route(ctx, args)
            result = await self.call(ctx, args)
        except (RestError, SecretError, ParseError) as exc:
            raise StepFailed(_via(str(exc), chosen)) from None
        except StepFailed as exc:
            if chosen is None or not (chosen.moved or chosen.why):
                raise
            raise StepFailed(_via(str(exc), chosen), {**exc.data, "node": chosen.as_data()}) from None
        if chosen is not None and (chosen.moved or chosen.why):
            result.message = _via(result.message, chosen)
            result.data = {**result.data, "node": chosen.as_data()}
        return result

    @abstractmethod
    async def call(self, ctx: HostContext, args: Any) -> StepResult:
        """Do the step; raise RestError or StepFailed when it did not work."""


def _via(message: str, chosen: Route | None) -> str:
    return f"{message} [{chosen.summary}]" if chosen is not None and (chosen.moved or chosen.why) else message


Method = Literal["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]


class RestArgs(CredentialArgs):
    api: Literal["finesse", "gws"] = "finesse"
    method: Method = "GET"
    path: str = Field(min_length=1)
    query: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    xml: str | None = None
    json_body: Any = Field(None, alias="json")
    auth: bool = True
    bypass_cache: bool = False
    expect_status: list[int] | None = None
    parse: Literal["auto", "json", "xml", "text"] = "auto"
    timeout: float | None = Field(None, gt=0)
    # Finesse only: which node the call goes to (ops.rest.failover); `primary` for configuration.
    node: Want = "in_service"

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or "://" in value:
            raise ValueError("path is the part after host:port, starting with '/' (the host comes from the inventory)")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> RestArgs:
        given = [k for k, v in (("body", self.body), ("xml", self.xml), ("json", self.json_body)) if v is not None]
        if len(given) > 1:
            raise ValueError(f"give one of body, xml, json (not {' and '.join(given)})")
        return self


class RestStepAction(RestAction):
    name = "rest"
    changes_state = True
    Args = RestArgs

    def wants(self, args: RestArgs) -> tuple[str, Want]:
        return args.api, args.node

    def commands(self, args: RestArgs) -> list[str]:
        query = {**args.query, **cache_query(args.bypass_cache)}
        suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        return [f"{args.method} {args.path}{suffix} ({args.api})"]

    async def call(self, ctx: HostContext, args: RestArgs) -> StepResult:
        client = ctx.rest(args.api)
        headers = dict(args.headers)
        content: str | None = args.body
        if args.xml is not None:
            headers.setdefault("Content-Type", "application/xml")
            content = args.xml
        response = await client.request(
            args.method, args.path, query={**args.query, **cache_query(args.bypass_cache)}, headers=headers,
            content=content, json_body=args.json_body, auth=args.auth, credentials=step_credentials(ctx, args),
            expect=args.expect_status, timeout=args.timeout)
        if args.parse == "json":
            body = response.json()
        elif args.parse == "xml":
            root = response.xml()
            body = {local_name(root.tag): xml_to_data(root)}
        elif args.parse == "text":
            body = response.text
        else:
            body = response.parsed()
        data = {"status": response.status, "url": response.url, "headers": response.headers, "text": response.text,
                "body": body, "elapsed_ms": response.elapsed_ms}
        return StepResult(changed=args.method not in ("GET", "HEAD"),
                          message=f"{response.what} -> {response.status} {response.reason}", data=data)
