"""scrapli's current build (2026.x, libscrapli over FFI): scrapli.cli.Cli with a small platform for `admin:`."""

from __future__ import annotations

from importlib.metadata import version

from _common import COMMAND, check_output, emit, rtt_args, timed
from scrapli.auth import Options as AuthOptions
from scrapli.cli import Cli, LoadedDefinition
from scrapli.transport import BinOptions

# The VOS admin CLI as a scrapli platform: one mode, the `admin:` prompt, pagination off on open.
DEFINITION = r"""---
prompt_pattern: '^\w+:\s?$'
default_mode: 'exec'
modes:
  - name: 'exec'
    prompt_pattern: '^\w+:\s?$'
failure_indicators:
  - 'Executed command unsuccessfully'
on_open_instructions:
  - send_input:
      input: 'set cli pagination off'
on_close_instructions:
  - write:
      input: 'quit'
"""


def main() -> None:
    args = rtt_args(__doc__ or "")
    cli = Cli(args.host, port=args.port,
              definition_file_or_name=LoadedDefinition(platform_name="cisco_vos", definition=DEFINITION),
              auth_options=AuthOptions(username=args.user, password=args.password),
              transport_options=BinOptions(known_hosts_path=args.known_hosts, enable_strict_key=True))
    with cli:
        check_output(cli.send_input(COMMAND).result)
        samples = timed(lambda: cli.send_input(COMMAND), args.count)
    emit(samples=samples, version=version("scrapli"))


if __name__ == "__main__":
    main()
