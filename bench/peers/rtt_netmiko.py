"""netmiko's `generic` driver with the `admin:` prompt."""

from __future__ import annotations

from importlib.metadata import version

from _common import COMMAND, check_output, emit, rtt_args, timed
from netmiko import ConnectHandler


def main() -> None:
    args = rtt_args(__doc__ or "")
    conn = ConnectHandler(device_type="generic", host=args.host, port=args.port, username=args.user,
                          password=args.password, ssh_strict=True, system_host_keys=False,
                          alt_host_keys=True, alt_key_file=args.known_hosts, use_keys=False, allow_agent=False)
    try:
        conn.send_command("set cli pagination off", expect_string=r"admin:")
        check_output(conn.send_command(COMMAND, expect_string=r"admin:"))
        samples = timed(lambda: conn.send_command(COMMAND, expect_string=r"admin:"), args.count)
    finally:
        conn.disconnect()
    emit(samples=samples, version=version("netmiko"))


if __name__ == "__main__":
    main()
