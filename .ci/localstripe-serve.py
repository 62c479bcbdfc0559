"""Runs localstripe on 127.0.0.1 only, on a free port, and writes its URL to a file.

localstripe's own entry point listens on every address (IPv4 and IPv6) on a
fixed port and keeps its state in /tmp/localstripe.pickle between runs; CI wants
neither. Usage: python3 .ci/localstripe-serve.py <url file>
"""

import socket
import sys

from aiohttp import web

from localstripe import resources, server

# Start empty and keep nothing on disk: every CI run sees a fresh Stripe.
resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
port = sock.getsockname()[1]
with open(sys.argv[1], "w") as f:
    f.write(f"http://127.0.0.1:{port}/\n")
web.run_app(server.app, sock=sock, print=None, access_log=None)
