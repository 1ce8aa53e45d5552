"""The floor: bare asyncssh, write the command line, read until the prompt; no echo handling, no cleaning."""

from __future__ import annotations

import asyncio
import time

import asyncssh
from _common import COMMAND, check_output, emit, rtt_args

PROMPT = "admin:"


async def read_to_prompt(reader: asyncssh.SSHReader[str], end: str = PROMPT) -> str:
    buffer = ""
    while not buffer.endswith(end):
        buffer += await reader.read(65536)
    return buffer


async def main(doc: str, echo_first: bool = False) -> None:
    """Time COMMAND; with `echo_first`, wait for its echo before sending return (two round trips)."""
    args = rtt_args(doc)
    # The cipher ops' session layer negotiates (asyncssh's default, chacha20-poly1305, costs more per
    # packet), so the floor differs from ops only in what happens above the transport.
    conn = await asyncssh.connect(args.host, args.port, username=args.user, password=args.password,
                                  known_hosts=None, client_keys=None, agent_path=None, config=None,
                                  encryption_algs=["aes128-gcm@openssh.com"])
    writer, reader, _ = await conn.open_session(term_type="vt100", term_size=(511, 200), encoding="utf-8")
    await read_to_prompt(reader)
    writer.write("set cli pagination off\n")
    await read_to_prompt(reader)
    writer.write(COMMAND + "\n")
    check_output(await read_to_prompt(reader))
    samples = []
    for _ in range(args.count):
        start = time.perf_counter()
        if echo_first:
            writer.write(COMMAND)
            await read_to_prompt(reader, COMMAND)
            writer.write("\n")
        else:
            writer.write(COMMAND + "\n")
        await read_to_prompt(reader)
        samples.append(time.perf_counter() - start)
    writer.write("quit\n")
    conn.close()
    await conn.wait_closed()
    emit(samples=samples)


if __name__ == "__main__":
    from ops import sshpatches

    sshpatches.apply()  # as the ops entry point does
    asyncio.run(main(__doc__ or ""))
