"""`cli` step: any admin CLI command, answering the prompts it asks.

```yaml
- name: Version
  cli:
    command: show version active
    prompts: [{expect: 'Enter \\(yes/no\\)\\?', answer: 'no'}]
    fail_when: 'Error'
  register: version
```
The registered result holds `output` (text) and `lines`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ops.actions.base import Action, Args, HostContext, StepFailed, StepResult, check_regex, one_line
from ops.patterns import compile_pattern, search
from ops.secrets import Secret, is_reference
from ops.session.channel import Answer, is_read_only


class PromptArgs(Args):
    expect: str
    answer: str
    secret: bool = False

    @field_validator("expect")
    @classmethod
    def _regex(cls, value: str) -> str:
        return check_regex(value, "expect")

    @field_validator("answer")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return one_line(value, "answer")


class CliArgs(Args):
    command: str = Field(min_length=1)
    prompts: list[PromptArgs] = Field(default_factory=list)
    timeout: float = Field(60.0, gt=0)
    fail_when: str | None = None

    @field_validator("command")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("command is one line")
        return value.strip()

    @field_validator("fail_when")
    @classmethod
    def _fail_regex(cls, value: str | None) -> str | None:
        return value if value is None else check_regex(value, "fail_when")


def _answer_value(ctx: HostContext, prompt: PromptArgs, base: str) -> str | Secret:
    if prompt.secret and is_reference(prompt.answer):
        return ctx.secret(prompt.answer)
    return Secret(prompt.answer, f"{base} answer") if prompt.secret else prompt.answer


class CliAction(Action):
    name = "cli"
    changes_state = True  # any command: taken as one that may change something
    Args = CliArgs

    def commands(self, args: CliArgs) -> list[str]:
        return [args.command]

    def repeats_safely(self, raw_args: Any) -> bool:
        # A command that only reads (show ..., utils service list ...), typed as written: a template
        # could make it anything, so that needs repeat_changes: true.
        command = raw_args.get("command") if isinstance(raw_args, dict) else None
        return isinstance(command, str) and "{" not in command and is_read_only(command)

    def secret_references(self, args: CliArgs) -> list[str]:
        return [p.answer for p in args.prompts if p.secret and is_reference(p.answer)]

    async def run(self, ctx: HostContext, args: CliArgs) -> StepResult:
        channel = await ctx.channel()
        answers = [Answer(p.expect, _answer_value(ctx, p, args.command), once=False, name=p.expect)
                   for p in args.prompts]
        result = await channel.dialog(args.command, answers, timeout=args.timeout)
        data = {"command": args.command, "output": result.output, "lines": result.output.splitlines()}
        if args.fail_when and search(compile_pattern(args.fail_when), result.output, what="fail_when"):
            raise StepFailed(f"output matches fail_when {args.fail_when!r}", data)
        return StepResult(changed=False, message=f"{len(data['lines'])} lines", data=data)
