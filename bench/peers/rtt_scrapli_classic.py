"""scrapli's classic build (2025.1.30): GenericDriver over the system transport (OpenSSH's ssh binary)."""

from __future__ import annotations

from importlib.metadata import version

from _common import COMMAND, check_output, emit, rtt_args, timed
from scrapli.driver.generic import GenericDriver


def main() -> None:
    args = rtt_args(__doc__ or "")
    driver = GenericDriver(host=args.host, port=args.port, auth_username=args.user, auth_password=args.password,
                           auth_strict_key=True, ssh_known_hosts_file=args.known_hosts, transport="system",
                           comms_prompt_pattern=r"^\w+:\s?$", ssh_config_file=False,
                           on_open=lambda conn: conn.send_command("set cli pagination off"))
    with driver:
        check_output(driver.send_command(COMMAND).result)
        samples = timed(lambda: driver.send_command(COMMAND), args.count)
    emit(samples=samples, version=version("scrapli"))


if __name__ == "__main__":
    main()
