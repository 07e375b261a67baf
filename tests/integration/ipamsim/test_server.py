"""The HTTP server: whatever arrives is answered (EC2's XML on ``/``, JSON on the control
paths), bodies have a bounded size, and a silent connection does not hold a thread."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

import ipamsim
from ipamsim.server import MAX_BODY, REQUEST_TIMEOUT, IpamServer
from tests.integration.ipamsim.support import error_code, exchange, http_request

pytestmark = pytest.mark.http

QUERY = b"Action=DescribeIpams&Version=2016-11-15"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture
def strict_server(_current, sim):
    """A server of its own with a short timeout and a small body cap."""
    server = IpamServer(_current, port=0, request_timeout=0.5, max_body=len(QUERY) + 10)
    server.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def still_serves(server) -> None:
    answer = exchange(server.url, http_request("POST", "/", QUERY, FORM))
    assert answer is not None
    assert answer.status == 200
    assert answer.xml().tag.endswith("DescribeIpamsResponse")


def test_the_defaults():
    assert (MAX_BODY, REQUEST_TIMEOUT) == (1024 * 1024, 10.0)


@pytest.mark.parametrize("length", ["abc", "-5", "1.5", "0x10", "", "٣٩", "²", "1 2"])
def test_a_content_length_that_is_no_length_is_400(shared_server, sim, capsys, length):
    answer = exchange(
        shared_server.url, http_request("POST", "/", QUERY, FORM | {"Content-Length": length})
    )

    assert answer is not None
    assert answer.status == 400
    assert error_code(answer.xml()) == "InvalidRequest"
    assert answer.headers["connection"] == "close"
    assert "Traceback" not in capsys.readouterr().err
    still_serves(shared_server)


def test_two_different_content_lengths_are_400(shared_server, sim):
    data = http_request("POST", "/", QUERY, FORM).replace(
        b"\r\n\r\n", f"\r\nContent-Length: {len(QUERY) - 1}\r\n\r\n".encode(), 1
    )

    answer = exchange(shared_server.url, data)

    assert (answer.status, error_code(answer.xml())) == (400, "InvalidRequest")


def test_a_body_shorter_than_its_length_is_400(shared_server, sim, capsys):
    data = http_request("POST", "/", QUERY, FORM | {"Content-Length": str(len(QUERY) + 100)})

    answer = exchange(shared_server.url, data)

    assert (answer.status, error_code(answer.xml())) == (400, "IncompleteBody")
    assert "Traceback" not in capsys.readouterr().err
    still_serves(shared_server)


def test_a_half_sent_body_is_answered_once_the_timeout_passes(strict_server):
    data = http_request("POST", "/", QUERY, FORM | {"Content-Length": str(len(QUERY) + 5)})

    started = time.monotonic()
    answer = exchange(strict_server.url, data, half_close=False)

    assert (answer.status, error_code(answer.xml())) == (400, "IncompleteBody")
    assert 0.4 < time.monotonic() - started < 5


def test_a_silent_connection_is_closed_after_the_timeout(strict_server):
    parts = urlsplit(strict_server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, with nothing to answer
        assert 0.4 < time.monotonic() - started < 5
    still_serves(strict_server)


def test_a_kept_alive_connection_serves_several_requests(shared_server, sim):
    request = http_request("POST", "/", QUERY, FORM)

    answer = exchange(shared_server.url, request * 3)

    assert answer.status == 200
    assert "connection" not in answer.headers


def test_a_body_up_to_the_cap_is_read_and_one_over_it_is_413(strict_server):
    cap = strict_server.max_body
    at_cap = QUERY + b"&Foo=" + b"x" * (cap - len(QUERY) - 5)
    assert len(at_cap) == cap

    read = exchange(strict_server.url, http_request("POST", "/", at_cap, FORM))
    over = exchange(strict_server.url, http_request("POST", "/", at_cap + b"x", FORM))

    assert (read.status, error_code(read.xml())) == (400, "UnknownParameter")
    assert (over.status, error_code(over.xml())) == (413, "RequestEntityTooLarge")


@pytest.mark.parametrize("length", [str(MAX_BODY + 1), "9" * 40, "0" * 30 + "5" * 30])
def test_a_body_over_the_cap_is_refused_unread(shared_server, sim, length):
    answer = exchange(
        shared_server.url, http_request("POST", "/", QUERY, FORM | {"Content-Length": length})
    )

    assert (answer.status, error_code(answer.xml())) == (413, "RequestEntityTooLarge")


def test_a_body_over_the_cap_is_refused_before_it_is_sent(shared_server, sim):
    headers = FORM | {"Content-Length": str(MAX_BODY + 1), "Expect": "100-continue"}

    answer = exchange(shared_server.url, http_request("POST", "/", headers=headers))

    assert (answer.status, error_code(answer.xml())) == (413, "RequestEntityTooLarge")


def test_a_chunked_body_is_411(shared_server, sim):
    data = http_request("POST", "/", headers=FORM | {"Transfer-Encoding": "chunked"})

    answer = exchange(shared_server.url, data + b"5\r\nhello\r\n0\r\n\r\n")

    assert (answer.status, error_code(answer.xml())) == (411, "MissingContentLength")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_other_methods_are_405(shared_server, sim, method):
    answer = exchange(shared_server.url, http_request(method, "/"))

    assert answer.status == 405
    assert answer.headers["allow"] == "GET, POST"
    assert error_code(answer.xml()) == "InvalidRequest"


def test_head_is_405_without_a_body(shared_server, sim):
    answer = exchange(shared_server.url, http_request("HEAD", "/"))

    assert (answer.status, answer.body) == (405, b"")


@pytest.mark.parametrize(
    "data",
    [
        b"GET http://[broken/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nBad Header Line\r\n\r\n",
        b"POST / HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    ],
    ids=["bad-url", "bad-header", "too-many-headers", "too-long-request-line"],
)
def test_what_the_http_layer_refuses_is_ec2_xml(shared_server, sim, data):
    answer = exchange(shared_server.url, data)

    assert 400 <= answer.status < 500
    assert error_code(answer.xml())


# --- the control paths answer in JSON -----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b"5", b'"text"', b"null", b"{not json", b"\xff\xfe\x00", b"[" * 100_000],
    ids=["list", "number", "string", "null", "invalid", "not-utf-8", "deep"],
)
def test_faults_that_are_not_a_json_object_are_400(shared_server, sim, body):
    answer = exchange(shared_server.url, http_request("POST", "/_ipamsim/faults", body))

    assert answer.status == 400
    assert "error" in answer.json()
    assert sim.faults.as_dict() == ipamsim.Faults().as_dict()


@pytest.mark.parametrize(
    ("length", "status"), [("abc", 400), ("-5", 400), ("50", 400), (str(MAX_BODY + 1), 413)]
)
def test_a_control_request_with_a_wrong_length_is_answered_in_json(
    shared_server, sim, length, status
):
    data = http_request("POST", "/_ipamsim/faults", b"{}", {"Content-Length": length})

    answer = exchange(shared_server.url, data)

    assert answer.status == status
    assert "error" in answer.json()


def test_faults_posted_with_a_good_body_still_apply(shared_server, sim):
    body = json.dumps({"latency": 0.01}).encode()

    answer = exchange(shared_server.url, http_request("POST", "/_ipamsim/faults", body))

    assert answer.status == 200
    assert answer.json()["latency"] == 0.01
    assert sim.faults.latency == 0.01
