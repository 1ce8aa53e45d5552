"""Genesys Web Services steps: `gws_version`, `gws_me`, `gws_voice`.

```yaml
- name: GWS version (no sign-in needed)
  gws_version: {}
  register: gws
- name: Who am I
  gws_me: {username: ksippo, password: env:KSIPPO_PW}
- name: Agent not ready
  gws_voice: {operation: NotReady, timeout: 10}
```
GWS is asynchronous: `{"statusCode": 0}` only means T-Server got the request, so `gws_voice`
polls the voice channel until its state matches (or fails after `timeout`). A request whose URL
would be longer than the 2,000 characters GWS takes (seed 002) is refused before it is sent.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ops.actions.base import Args, HostContext, StepResult
from ops.actions.rest import CredentialArgs, RestAction, step_credentials
from ops.rest.gws import CHANNELS, ME, OPERATION_STATES, VERSION, VOICE, GWSClient


def _client(ctx: HostContext, args: CredentialArgs | None = None) -> GWSClient:
    return GWSClient(ctx.rest("gws"), step_credentials(ctx, args) if args is not None else None)


class VersionArgs(Args):
    pass


class VersionAction(RestAction):
    name = "gws_version"
    api = "gws"
    Args = VersionArgs

    def commands(self, args: VersionArgs) -> list[str]:
        return [f"GET {VERSION}"]

    async def call(self, ctx: HostContext, args: VersionArgs) -> StepResult:
        version = await _client(ctx).version()
        return StepResult(message=f"GWS {version}", data={"version": version})


class MeArgs(CredentialArgs):
    pass


class MeAction(RestAction):
    name = "gws_me"
    api = "gws"
    Args = MeArgs

    def commands(self, args: MeArgs) -> list[str]:
        return [f"GET {ME}"]

    async def call(self, ctx: HostContext, args: MeArgs) -> StepResult:
        user = await _client(ctx, args).me()
        name = " ".join(str(user.get(k, "")) for k in ("firstName", "lastName")).strip()
        return StepResult(message=f"{user.get('userName')} ({name}, roles {user.get('roles')})",
                          data={"user": user})


class VoiceArgs(CredentialArgs):
    operation: str = Field(min_length=1, pattern=r"^[A-Za-z]+$")
    expect_state: str | None = None  # the voice state the operation leads to; known for Ready/NotReady
    reason_code: str | None = None
    timeout: float = Field(10.0, gt=0)
    interval: float = Field(0.2, gt=0)

    @model_validator(mode="after")
    def _known_outcome(self) -> VoiceArgs:
        if self.expect_state is None and self.operation not in OPERATION_STATES:
            raise ValueError(f"say which state {self.operation} leads to (expect_state:); known operations: "
                             f"{', '.join(OPERATION_STATES)}")
        return self


class VoiceAction(RestAction):
    name = "gws_voice"
    api = "gws"
    changes_state = True
    Args = VoiceArgs

    def commands(self, args: VoiceArgs) -> list[str]:
        return [f'POST {VOICE} {{"operationName": "{args.operation}"}}', f"GET {CHANNELS} (until the state changes)"]

    async def call(self, ctx: HostContext, args: VoiceArgs) -> StepResult:
        expected = args.expect_state or OPERATION_STATES[args.operation]
        extra = {"reasonCode": args.reason_code} if args.reason_code else None
        result = await _client(ctx, args).voice_operation(args.operation, expected, extra=extra,
                                                          timeout=args.timeout, interval=args.interval)
        data = {"operation": result.operation, "status_code": result.status_code, "state": result.state,
                "previous_state": result.previous_state, "waited_s": result.waited_s}
        return StepResult(changed=result.previous_state != result.state,
                          message=f"{args.operation}: {result.previous_state} -> {result.state} "
                                  f"(after {result.waited_s:g}s)", data=data)
