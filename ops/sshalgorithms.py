"""The SSH algorithms ops offers, in one place.

ops speaks SSH in three roles:

* a client of appliances (`ops.session.transport`): `APPLIANCE_CIPHERS`, modern first, down to the
  CBC ciphers older VOS releases offer, since a client can only take what the appliance has;
* the receiver's server for the appliances' SFTP pushes (`ops.receiver`): `receiver_algorithms()`,
  modern algorithms, plus the few an old VOS SFTP client speaks only with `legacy_algorithms`;
* the lab appliance (`ops.lab`), standing in for a VOS node: `VOS_KEX`, its OpenSSH's key
  exchanges, and as a pushing SFTP client a modern release's `CIPHERS` or an old one's `LEGACY_*`.

In a negotiation the client's order decides; a server's list is only the set it accepts.
"""

from __future__ import annotations

import asyncssh

__all__ = [
    "APPLIANCE_CIPHERS", "CIPHERS", "KEX", "LEGACY_CIPHERS", "LEGACY_HOST_KEYS", "LEGACY_KEX",
    "LEGACY_MACS", "MACS", "VOS_KEX", "receiver_algorithms",
]

# AES-GCM first: with AES-NI it costs the least CPU per byte, and one process holds hundreds of
# sessions and decrypts every byte of every host's logs; chacha20 for peers without AES-NI.
CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
           "aes128-ctr", "aes192-ctr", "aes256-ctr")
# asyncssh's defaults minus GSS key exchange (no Kerberos here) and SHA-1.
KEX = ("mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org", "curve448-sha512",
       "ecdh-sha2-nistp521", "ecdh-sha2-nistp384", "ecdh-sha2-nistp256",
       "diffie-hellman-group-exchange-sha256", "diffie-hellman-group14-sha256",
       "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512")
MACS = ("umac-128-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
        "umac-128@openssh.com", "hmac-sha2-256", "hmac-sha2-512")

# Cisco bug CSCux74884: the SFTP client of older VOS releases speaks only these.
LEGACY_KEX = ("diffie-hellman-group14-sha1",)
LEGACY_CIPHERS = ("aes128-cbc", "aes256-cbc")
LEGACY_MACS = ("hmac-sha1",)
LEGACY_HOST_KEYS = ("ssh-rsa",)

# What ops offers an appliance as a client: an appliance of an old release has only CBC.
APPLIANCE_CIPHERS = CIPHERS + LEGACY_CIPHERS

# Key exchange as the OpenSSH of an appliance offers it, server and client alike (VOS releases
# ship OpenSSH 7.x/8.x; the reference lists no algorithms, so this is OpenSSH's own default set of
# that time): no post-quantum hybrids (mlkem768x25519, sntrup761), which asyncssh would put first,
# so a session with the lab negotiates what it would with a real node (curve25519-sha256).
VOS_KEX = ("curve25519-sha256", "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
           "ecdh-sha2-nistp521", "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512",
           "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256", "diffie-hellman-group14-sha1")


def receiver_algorithms(*, legacy: bool) -> dict[str, list[str]]:
    """The receiver's `asyncssh.listen()` algorithm options; `legacy` adds what old VOS clients need."""
    kex, ciphers, macs = list(KEX), list(CIPHERS), list(MACS)
    if legacy:
        kex += LEGACY_KEX
        ciphers += LEGACY_CIPHERS
        macs += LEGACY_MACS
    available = asyncssh.kex.get_kex_algs()
    return {"kex_algs": [k for k in kex if k.encode() in available],  # mlkem needs a crypto backend
            "encryption_algs": ciphers, "mac_algs": macs, "compression_algs": ["none"]}
