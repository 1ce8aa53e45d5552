"""The lab appliance's HTTPS side: the Finesse REST API and Genesys Web Services, on one loopback port.

`certs` makes a CA and a server certificate signed by it; `state` holds the agents and the
webproxy cache; `finesse` and `gws` answer requests; `server` runs a `ThreadingHTTPServer`
with TLS in a thread of its own, beside the asyncio SSH server.
"""
