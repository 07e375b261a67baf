"""The endpoint over HTTP: a threaded server that any boto3 client or the AWS CLI can call.

Besides EC2's ``/``, it answers ``GET /_ipamsim/health`` and ``GET|POST /_ipamsim/faults``
(a JSON object of :class:`ipamsim.simulator.Faults` fields) for tests that need misbehaviour.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from ipamsim.simulator import Simulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes; do not wait for an ACK
    server: IpamServer

    def do_POST(self) -> None:
        self._answer("POST")

    def do_GET(self) -> None:
        self._answer("GET")

    def _answer(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith("/_ipamsim/"):
            self._control(method, url.path, body)
            return
        status, payload, extra = self.server.simulator.handle(
            method, url.query, dict(self.headers), body
        )
        self._send(status, payload, "text/xml;charset=UTF-8", extra)

    def _control(self, method: str, path: str, body: bytes) -> None:
        faults = self.server.simulator.faults
        if path == "/_ipamsim/health":
            self._send(200, b'{"status": "ok"}', "application/json")
        elif path == "/_ipamsim/faults":
            if method == "POST":
                try:
                    faults.update(json.loads(body or b"{}"))
                except (ValueError, TypeError) as exc:
                    self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
                    return
            self._send(200, json.dumps(faults.as_dict()).encode(), "application/json")
        else:
            self._send(404, b'{"error": "not found"}', "application/json")

    def _send(
        self, status: int, payload: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class IpamServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        simulator: Simulator,
        host: str = "127.0.0.1",
        port: int = 4510,
        *,
        verbose: bool = False,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.simulator = simulator
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="ipamsim", daemon=True)
        thread.start()
        return thread
