"""Core HTTP errors reach Python as the matching bmnflow.errors class, with their status."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from bmnflow import errors
from bmnflow._core import diagnostics


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: dict[str, int] = {}

    def do_GET(self) -> None:
        self.hits[self.path] = self.hits.get(self.path, 0) + 1
        status = {
            "/ok": 200,
            "/missing": 404,
            "/conflict": 409,
            "/denied": 401,
            "/bad": 400,
            "/broken": 500,
        }.get(self.path)
        if self.path == "/busy-once":
            status = 503 if self.hits[self.path] == 1 else 200
        body = f"answer for {self.path}".encode()
        self.send_response(status or 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    _Handler.hits = {}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_success_returns_status_and_body(server):
    assert diagnostics.http_get(f"{server}/ok") == (200, "answer for /ok")


@pytest.mark.parametrize(
    ("path", "cls", "status"),
    [
        ("/missing", errors.NotFoundError, 404),
        ("/conflict", errors.AlreadyExistsError, 409),
        ("/denied", errors.AuthenticationError, 401),
        ("/bad", errors.InvalidInputError, 400),
        ("/broken", errors.ServerError, 500),
    ],
)
def test_error_status_maps_to_its_class(server, path, cls, status):
    with pytest.raises(cls) as caught:
        diagnostics.http_get(f"{server}{path}")
    assert caught.value.status == status
    assert caught.value.service == "http"
    assert f"answer for {path}" in str(caught.value)


def test_retry_through_503(server):
    assert diagnostics.http_get(f"{server}/busy-once", retries=2) == (200, "answer for /busy-once")


def test_refused_connection_is_transport_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(errors.TransportError):
        diagnostics.http_get(f"http://127.0.0.1:{port}/")


def test_silent_server_is_timeout_error():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        with pytest.raises(errors.TimeoutError):
            diagnostics.http_get(f"http://127.0.0.1:{port}/", timeout=0.3)


@pytest.mark.parametrize("url", ["ftp://example.org/x", "not a url"])
def test_bad_url_is_configuration_error_before_sending(url):
    with pytest.raises(errors.ConfigurationError):
        diagnostics.http_get(url)


def test_unreadable_ca_folder_is_configuration_error(tmp_path):
    with pytest.raises(errors.ConfigurationError, match="CA folder"):
        diagnostics.http_get("https://127.0.0.1:1/", ca_dir=tmp_path / "missing")
