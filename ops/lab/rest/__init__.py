"""The lab appliance's HTTPS side: the Finesse REST API and Genesys Web Services, on one loopback port
(two with `finesse_peer_node`: the cluster's other node on a port of its own).

`certs` makes a CA and a server certificate for each node signed by it; `state` holds the agents,
the nodes and each node's webproxy cache; `configdb` the cluster's configuration (reason codes,
wrap-up reasons, phone books, team assignments) and its rules; `finesse`, `config` and `gws`
answer requests; `server` runs a `ThreadingHTTPServer` with TLS for each node in a thread of its
own, beside the asyncio SSH server.
"""
