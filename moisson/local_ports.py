"""Free ports on 127.0.0.1 for the servers a run or a test starts beside it (a local Ray head, an S3 server).

Why not the servers' own defaults: fixed ports (Ray's 6379, 10001, 52365...) clash as soon as two runs, or a run and a
test, share a machine. The ports are held together while they are chosen, so none is handed out twice; a port
could still be taken between the choice and the server's bind, which the servers report as a clear start failure.
"""

from __future__ import annotations

import socket


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that nothing listens on now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for held in sockets:
            held.bind(("127.0.0.1", 0))
        return [held.getsockname()[1] for held in sockets]
    finally:
        for held in sockets:
            held.close()
