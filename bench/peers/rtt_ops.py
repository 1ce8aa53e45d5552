"""Round trip of ops' own session layer (transport + VOSChannel)."""

from __future__ import annotations

import asyncio
import time

from _common import COMMAND, check_output, emit, rtt_args

from ops.secrets import Secret
from ops.session.channel import VOSChannel
from ops.session.transport import HostKeyPolicy, Target, connect, open_shell


async def main() -> None:
    args = rtt_args(__doc__ or "")
    target = Target(name="lab", address=args.host, port=args.port, username=args.user,
                    password=Secret(args.password), host_key=HostKeyPolicy(mode="fingerprint",
                                                                           fingerprint=args.fingerprint))
    conn = await connect(target)
    reader, writer = await open_shell(conn)
    channel = VOSChannel(reader, writer, args.user, host="lab")
    await channel.login()
    check_output(await channel.send(COMMAND))
    samples = []
    for _ in range(args.count):
        start = time.perf_counter()
        await channel.send(COMMAND)
        samples.append(time.perf_counter() - start)
    await channel.close()
    conn.close()
    await conn.wait_closed()
    emit(samples=samples)


if __name__ == "__main__":
    from ops import sshpatches

    sshpatches.apply()  # as the ops entry point does
    asyncio.run(main())
