"""A recording HTTP relay on 127.0.0.1, in front of a test's second SPARQL server: tests see whether (and
what) a request reached it, and can make it hang or flood. A form-encoded query is recorded decoded."""

from __future__ import annotations

import contextlib
import http.server
import threading
import time
import urllib.request
from urllib.parse import parse_qs


class Relay:
    """An HTTP listener on 127.0.0.1 that records each request ({path, body, user_agent}) and, given a
    behaviour, answers it: by relaying to a real server, by hanging, or with a huge body."""

    def __init__(self, upstream: str | None = None, behaviour: str = "relay"):
        self.requests: list[dict] = []
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                content_type = self.headers.get("Content-Type", "")
                form = (
                    parse_qs(body.decode("ascii", "replace"))
                    if content_type.startswith("application/x-www-form-urlencoded")
                    else {}
                )
                relay.requests.append(
                    {
                        "path": self.path,
                        "body": body.decode("utf-8", "replace"),
                        "content_type": content_type,
                        "query": (form.get("query") or [""])[0],
                        "user_agent": self.headers.get("User-Agent", ""),
                    }
                )
                if behaviour == "hang":
                    time.sleep(30)
                    return
                if behaviour == "huge":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/sparql-results+json")
                    self.end_headers()
                    with contextlib.suppress(OSError):
                        self.wfile.write(b'{"head":{"vars":["x"]},"results":{"bindings":[')
                        row = b'{"x":{"type":"literal","value":"' + b"x" * 1000 + b'"}},'
                        for _ in range(30_000):  # 30 MB, far over the limit
                            self.wfile.write(row)
                    return
                request = urllib.request.Request(
                    upstream + self.path,
                    data=body or None,
                    method=self.command,
                    headers={k: v for k, v in self.headers.items() if k.lower() in ("accept", "content-type")},
                )
                with urllib.request.urlopen(request, timeout=10) as answer:
                    data = answer.read()
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.headers.get("Content-Type", "application/octet-stream"))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            do_GET = do_POST = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
