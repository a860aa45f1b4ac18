"""A partner's webhook endpoint on 127.0.0.1 for delivery tests: a threading HTTP server
whose answer to each POST is the subclass's `handle(partner, body, headers)`."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalEndpoint:
    """Serves `POST /<partner id>` until `close()`; `url` is its base address. Subclasses
    set their own state (and a lock for it: requests come on several threads) before
    calling `super().__init__()`, since requests may arrive at once."""

    def __init__(self) -> None:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = endpoint.handle(self.path.strip("/"), body, dict(self.headers.items()))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, partner: str, body: bytes, headers: dict[str, str]) -> int:
        """The HTTP status to answer a POST from the deliverer with."""
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
