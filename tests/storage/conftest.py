"""Real servers on 127.0.0.1 for the storage tests: an S3-compatible one (moto in server mode), a
web server with a CSV, a 404 and a body cut short, and a TCP proxy that drops connections.

The S3 credentials are moto's fixed test values, set as the standard AWS_* variables: what a
user's shell or a worker's environment holds, read by polars and obstore themselves.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

S3_SECRET = "SECRET-s3-canary-987"
"""The secret key the tests use: no byte of output may ever hold it."""


@dataclass
class S3:
    endpoint: str
    bucket: str

    def url(self, *parts: str) -> str:
        return "/".join([f"s3://{self.bucket}", *parts])

    def put(self, key: str, data: bytes) -> None:
        import boto3

        boto3.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)

    def objects(self, prefix: str = "") -> list[str]:
        import boto3

        listed = boto3.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listed.get("Contents", []))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_env(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def s3(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3:
    """A fresh bucket on the moto server, the AWS_* variables pointing at it."""
    import boto3

    s3_env(monkeypatch, moto_endpoint)
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return S3(moto_endpoint, bucket)


WEB_CSV = b"phone,team\n+447911100001,Web\n+447911100002,Web\n"


class _Web(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/web.csv"):
            if self.headers.get("Authorization") not in (None, "Basic dXNlcjpodW50ZXIy"):
                self.send_error(401)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(WEB_CSV)))
            self.end_headers()
            self.wfile.write(WEB_CSV)
        elif self.path == "/cut.csv":
            self.send_response(200)
            self.send_header("Content-Length", str(len(WEB_CSV) * 100))
            self.end_headers()
            self.wfile.write(WEB_CSV)
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def web() -> Iterator[str]:
    """`/web.csv` (Basic auth user:hunter2 accepted, or none), `/cut.csv` (the server closes the
    connection after a fraction of the announced length), anything else 404."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Web)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class DroppingProxy:
    """A TCP proxy to `upstream` that passes `budget` bytes from clients, then drops every
    connection and refuses new ones: a network that fails in the middle of an upload."""

    def __init__(self, upstream: str, budget: int) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.budget = budget
        self.dropped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.dropped.is_set():
                client.close()
                continue
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        try:
            while not self.dropped.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if counted:
                    with self.lock:
                        self.budget -= len(data)
                        if self.budget < 0:
                            self.dropped.set()
                            break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.dropped.set()
        self.listener.close()


class CountingProxy:
    """A TCP proxy to `upstream` that records what passes: the request lines clients send
    (`GET /bucket/key`, `HEAD ...`) and the bytes the server answers with. What a client really
    asked of the server, observed on the wire rather than by mocking the client."""

    _REQUEST = re.compile(rb"(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/1\.[01]\r\n")

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.requests: list[tuple[str, str]] = []
        self.answered = 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.answered = 0

    def gets(self, key: str) -> int:
        """GETs of the object `key` (a path ending in it, listings not counted)."""
        with self.lock:
            return sum(1 for m, path in self.requests if m == "GET" and path.endswith(key))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                with self.lock:
                    if from_client:
                        self.requests += [
                            (m.decode(), p.decode()) for m, p in self._REQUEST.findall(data)
                        ]
                    else:
                        self.answered += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def counted_s3(s3: S3, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[S3, CountingProxy]]:
    """The `s3` bucket, reached through a `CountingProxy` (AWS_ENDPOINT_URL points at it)."""
    proxy = CountingProxy(s3.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    yield s3, proxy
    proxy.close()


class Served:
    """What `/big.csv` of the `versioned_web` server holds and how it answers: `etag` None sends
    no validator at all; every request is logged as (method, Range header or "")."""

    def __init__(self) -> None:
        self.body = b""
        self.etag: str | None = '"v1"'
        self.log: list[tuple[str, str]] = []
        self.sent = 0


class _Versioned(BaseHTTPRequestHandler):
    served: Served

    def _answer(self, method: str) -> None:
        served = self.served
        wanted = self.headers.get("Range", "")
        served.log.append((method, wanted))
        if self.path != "/big.csv":
            self.send_error(404)
            return
        body, status = served.body, 200
        if found := re.fullmatch(r"bytes=(\d+)-(\d+)", wanted):
            start, end = int(found[1]), min(int(found[2]), len(body) - 1)
            body, status = body[start : end + 1], 206
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(served.body)}")
        if served.etag is not None:
            self.send_header("ETag", served.etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if method == "GET":
            self.wfile.write(body)
            served.sent += len(body)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_HEAD(self) -> None:
        self._answer("HEAD")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def versioned_web() -> Iterator[tuple[str, Served]]:
    """A web server whose `/big.csv` answers HEAD, `Range` and ETag as a CDN does."""
    served = Served()
    handler = type("Handler", (_Versioned,), {"served": served})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/big.csv", served
    server.shutdown()
