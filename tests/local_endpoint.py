"""A partner's webhook endpoint on 127.0.0.1 for delivery tests: a threading HTTP server
whose answer to each POST is `answer(partner, body, headers)`, an HTTP status."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalEndpoint:
    """Serves `POST /<partner id>` until `close()`; `url` is its base address. A subclass
    sets its own state (and a lock for it: requests come on several threads) before
    calling `super().__init__(self.handle)`, since requests may arrive at once."""

    def __init__(self, answer: Callable[[str, bytes, dict[str, str]], int]) -> None:

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                code = answer(self.path.strip("/"), body, dict(self.headers.items()))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
