"""The endpoint over HTTP: a threaded server that any boto3 client or the AWS CLI can call.

Besides EC2's ``/``, it answers ``GET /_ipamsim/health``, ``GET|POST /_ipamsim/faults``
(a JSON object of :class:`ipamsim.simulator.Faults` fields) for tests that need misbehaviour,
and ``GET /_ipamsim/calls`` (requests per action; ``POST`` ``{}`` resets them).

Whatever arrives, the server answers before it closes a connection: EC2's XML error on ``/``,
a JSON ``{"error": ...}`` on ``/_ipamsim/*``; the one exception is a change whose answer the
``lose_next_answers`` fault takes, which is carried out and its connection closed unanswered.
A body must say its length in ``Content-Length`` and be at most :data:`MAX_BODY` bytes; a
connection that sends nothing for :data:`REQUEST_TIMEOUT` seconds (idle, or half-way through
a request) is closed.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import SplitResult, urlsplit

from ipamsim import protocol
from ipamsim.simulator import LOST_HEADER, Simulator

MAX_BODY = 1024 * 1024  # bytes; EC2 Query requests are a few kilobytes
REQUEST_TIMEOUT = 10.0  # seconds a connection may be silent before it is closed
LINGER = 1.0  # seconds to read what a refused client still sends, so the answer reaches it

XML = "text/xml;charset=UTF-8"
JSON = "application/json"
_DIGITS = re.compile(r"[0-9]+")


class _Refusal(Exception):
    """A request the server answers itself, before the endpoint sees it; the connection is
    closed after the answer. Codes are [choice]: AWS's answers to these are not known."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes; do not wait for an ACK
    timeout = REQUEST_TIMEOUT
    server: IpamServer

    def setup(self) -> None:
        self.timeout = self.server.request_timeout
        super().setup()

    def do_POST(self) -> None:
        self._answer("POST")

    def do_GET(self) -> None:
        self._answer("GET")

    def _answer(self, method: str) -> None:
        try:
            url = self._url()
            if url is None:
                raise _Refusal(400, "InvalidRequest", "The request target is not a valid URL.")
            body = self._body()
        except _Refusal as refusal:
            self._refuse(refusal)
            return
        if url.path.startswith("/_ipamsim/"):
            self._control(method, url.path, body)
            return
        status, payload, extra = self.server.simulator.handle(
            method, url.query, dict(self.headers), body
        )
        if extra.pop(LOST_HEADER, None):
            self._lose_answer()
            return
        self._send(status, payload, XML, extra)

    # --- reading ----------------------------------------------------------------------------

    def _url(self) -> SplitResult | None:
        try:
            return urlsplit(self.path)
        except ValueError:  # e.g. an absolute URL with a broken [IPv6] host
            return None

    def _declared_length(self) -> int:
        """The body's length as ``Content-Length`` gives it (0 without one)."""
        if self.headers.get("Transfer-Encoding") is not None:
            raise _Refusal(
                411,
                "MissingContentLength",
                "The request must give its body's length in Content-Length.",
            )
        values = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not values:
            return 0
        text = values.pop()
        if values or not _DIGITS.fullmatch(text):
            raise _Refusal(
                400, "InvalidRequest", "The Content-Length header must be a whole number of bytes."
            )
        digits = text.lstrip("0") or "0"
        limit = self.server.max_body
        if len(digits) > len(str(limit)) or int(digits) > limit:
            raise _Refusal(
                413,
                "RequestEntityTooLarge",
                f"The request body may be at most {limit} bytes; this one says {text}.",
            )
        return int(digits)

    def _body(self) -> bytes:
        length = self._declared_length()
        if not length:
            return b""
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            body = b""
        if len(body) < length:
            raise _Refusal(
                400,
                "IncompleteBody",
                f"The request body is shorter than its Content-Length ({length} bytes).",
            )
        return body

    def handle_expect_100(self) -> bool:
        """Refuse a body that will not be read before the client sends it."""
        try:
            self._declared_length()
        except _Refusal as refusal:
            self._refuse(refusal)
            return False
        return super().handle_expect_100()

    def _lose_answer(self) -> None:
        """Close the connection without answering (the body was read in full, so closing
        does not reset it): the client sees the connection end and may retry."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # --- the control endpoint ---------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> None:
        faults = self.server.simulator.faults
        if path == "/_ipamsim/health":
            self._send(200, b'{"status": "ok"}', JSON)
        elif path == "/_ipamsim/faults":
            if method == "POST":
                try:
                    faults.update(json.loads(body or b"{}"))
                except (ValueError, TypeError, RecursionError) as exc:
                    self._send(400, json.dumps({"error": str(exc)}).encode(), JSON)
                    return
            self._send(200, json.dumps(faults.as_dict()).encode(), JSON)
        elif path == "/_ipamsim/calls":
            simulator = self.server.simulator
            if method == "POST":
                try:
                    asked = json.loads(body or b"{}")
                except (ValueError, RecursionError):
                    asked = None
                if asked != {}:
                    self._send(400, b'{"error": "POST /_ipamsim/calls takes {}"}', JSON)
                    return
                simulator.reset_calls()
            self._send(200, json.dumps(simulator.calls_made()).encode(), JSON)
        else:
            self._send(404, b'{"error": "not found"}', JSON)

    # --- writing ----------------------------------------------------------------------------

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the HTTP layer refuses itself (a malformed request line or header, a method
        other than GET and POST), answered as the server's own refusals are."""
        if code == HTTPStatus.NOT_IMPLEMENTED:  # a method the endpoint does not take
            code, message = (
                HTTPStatus.METHOD_NOT_ALLOWED,
                f"The method {self.command} is not allowed.",
            )
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self.log_error("code %d, message %s", code, message or phrase)
        self._refuse(_Refusal(code, "InvalidRequest", message or phrase))

    def _refuse(self, refusal: _Refusal) -> None:
        self.close_connection = True
        url = self._url() if self.command else None
        extra = {"Connection": "close"}
        if refusal.status == HTTPStatus.METHOD_NOT_ALLOWED:
            extra["Allow"] = "GET, POST"
        if url is not None and url.path.startswith("/_ipamsim/"):
            payload, content_type = json.dumps({"error": refusal.message}).encode(), JSON
        else:
            rid = protocol.request_id()
            payload, content_type = protocol.write_error(refusal.code, refusal.message, rid), XML
        self._send(refusal.status, payload, content_type, extra)
        self._linger()

    def _linger(self) -> None:
        """Close the way out, then read what the client is still sending for a moment: a
        socket closed with unread data resets the connection, and the client could lose the
        answer before it has read it."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER)
            deadline = time.monotonic() + LINGER
            while time.monotonic() < deadline and self.connection.recv(65536):
                pass
        except OSError:
            pass

    def _send(
        self, status: int, payload: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
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
        request_timeout: float = REQUEST_TIMEOUT,
        max_body: int = MAX_BODY,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.simulator = simulator
        self.verbose = verbose
        self.request_timeout = request_timeout
        self.max_body = max_body

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away or stalled is no error of the endpoint's; anything else
        is, and is printed."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="ipamsim", daemon=True)
        thread.start()
        return thread
