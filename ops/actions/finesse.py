"""Finesse steps: `finesse_system_info`, `finesse_performance`, `finesse_user_state`.

```yaml
- name: Node health
  finesse_system_info: {bypass_cache: false}   # fails when the node is not IN_SERVICE
  register: info
- name: Performance
  finesse_performance: {max: {threads: 400, queue_events: 100}}
  register: perf                               # perf.metrics.heap_used_bytes, perf.metrics.threads ...
- name: Agent 1001001 not ready
  finesse_user_state: {user: "1001001", state: NOT_READY, reason_code: 12}
```
`finesse_system_info` and `finesse_performance` report on the node the inventory addresses (a
health check of another node would hide the one that is down); `finesse_user_state` goes to a
node that is IN_SERVICE, moving to the peer when the addressed one is not (ops.rest.failover).
"""

from __future__ import annotations

import asyncio
import time
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ops.actions.base import Args, HostContext, StepFailed, StepResult
from ops.actions.rest import CredentialArgs, RestAction, step_credentials
from ops.parsers.finesse import METRICS, not_in_service
from ops.rest.finesse import PERFORMANCE, SYSTEM_INFO, USER, FinesseClient, cache_query


def _client(ctx: HostContext, args: CredentialArgs | None = None) -> FinesseClient:
    return FinesseClient(ctx.rest("finesse"), step_credentials(ctx, args) if args is not None else None)


def _get(path: str, bypass_cache: bool) -> str:
    return f"GET {path}" + ("?bypassServerCache=true" if cache_query(bypass_cache) else "")


class SystemInfoArgs(Args):
    bypass_cache: bool = False
    require_in_service: bool = True


class SystemInfoAction(RestAction):
    name = "finesse_system_info"
    Args = SystemInfoArgs
    node = "addressed"

    def commands(self, args: SystemInfoArgs) -> list[str]:
        return [_get(SYSTEM_INFO, args.bypass_cache)]

    async def call(self, ctx: HostContext, args: SystemInfoArgs) -> StepResult:
        info = await _client(ctx).system_info(args.bypass_cache)
        roles = ", ".join(f"{n['role']} {n['host']}" for n in info["nodes"]) or "no nodes listed"
        problem = not_in_service(info, ctx.host.name)
        if problem and args.require_in_service:
            raise StepFailed(problem, info)
        return StepResult(message=f"{info['status']} ({info['deployment_type']}; {roles})", data=info)


class PerformanceArgs(Args):
    bypass_cache: bool = False
    # metric name -> the highest acceptable value; a metric above it fails the step.
    max: dict[str, float] = Field(default_factory=dict)

    @field_validator("max")
    @classmethod
    def _known(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(METRICS.values()))
        if unknown:
            raise ValueError(f"unknown metric(s) {', '.join(unknown)} (known: {', '.join(sorted(METRICS.values()))})")
        return value


class PerformanceAction(RestAction):
    name = "finesse_performance"
    Args = PerformanceArgs
    node = "addressed"

    def commands(self, args: PerformanceArgs) -> list[str]:
        return [_get(PERFORMANCE, args.bypass_cache)]

    async def call(self, ctx: HostContext, args: PerformanceArgs) -> StepResult:
        perf = await _client(ctx).performance(args.bypass_cache)
        metrics = perf["metrics"]
        over = [f"{name} is {metrics[name]} (max {limit:g})" for name, limit in args.max.items()
                if isinstance(metrics.get(name), (int, float)) and metrics[name] > limit]
        missing = [name for name in args.max if name not in metrics]
        if over or missing:
            raise StepFailed("; ".join(over + [f"{name} not reported" for name in missing]), perf)
        m = metrics
        summary = (f"heap {m.get('heap_used_bytes', '?')} B, threads {m.get('threads', '?')}, "
                   f"load {m.get('load_average', '?')}, agents {m.get('agents_logged_in', '?')}, "
                   f"calls {m.get('calls_current', '?')}")
        return StepResult(message=summary, data=perf)


class UserStateArgs(CredentialArgs):
    user: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    state: Literal["READY", "NOT_READY"]
    reason_code: int | None = Field(None, ge=0)
    timeout: float = Field(5.0, gt=0)

    @model_validator(mode="after")
    def _reason_with_not_ready(self) -> UserStateArgs:
        if self.state == "READY" and self.reason_code is not None:
            raise ValueError("reason_code goes with NOT_READY only")
        return self


class UserStateAction(RestAction):
    name = "finesse_user_state"
    changes_state = True
    Args = UserStateArgs

    def commands(self, args: UserStateArgs) -> list[str]:
        path = USER.format(user=args.user)
        return [f"PUT {path} <User><state>{args.state}</state></User>", f"GET {path}"]

    async def call(self, ctx: HostContext, args: UserStateArgs) -> StepResult:
        client = _client(ctx, args)
        before = await client.user(args.user)
        await client.set_user_state(args.user, args.state, args.reason_code)
        # Finesse applies the change through CTI and answers 202 first: confirm by reading it back.
        deadline = time.monotonic() + args.timeout
        after = await client.user(args.user)
        while after["state"] != args.state and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            after = await client.user(args.user)
        data = {"user": args.user, "previous_state": before["state"], "state": after["state"],
                "reason_code_id": after["reason_code_id"], "state_change_time": after["state_change_time"],
                "extension": after["extension"]}
        if after["state"] != args.state:
            raise StepFailed(f"user {args.user}: Finesse accepted the change to {args.state} but the state is "
                             f"still {after['state']} after {args.timeout:g}s", data)
        if args.reason_code is not None and after["reason_code_id"] != args.reason_code:
            raise StepFailed(f"user {args.user} is {args.state} with reason code {after['reason_code_id']}, "
                             f"not {args.reason_code}", data)
        changed = (before["state"], before["reason_code_id"]) != (after["state"], after["reason_code_id"])
        return StepResult(changed=changed,
                          message=f"user {args.user}: {before['state']} -> {after['state']}", data=data)
