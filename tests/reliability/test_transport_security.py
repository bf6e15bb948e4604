"""Where a credential may travel, and who the emulator lets in.

- A token never crosses plain HTTP to a host that is not this machine, however the URL is
  spelled, and the command refuses before any byte is sent.
- Certificates are always verified: a server with an untrusted certificate never sees a request.
- The emulator compares secrets in constant time, keeps no issued access token in clear, and
  listens on 127.0.0.1 unless told otherwise.
- Output paths never come from group names or ids (the default mapping file name included).
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import typer.main
import uvicorn
from typer.testing import CliRunner

from flows.cli import app
from pipeline.migrate import default_mapping_path
from pipeline.sinch import (
    AuthenticationError,
    ConfigurationError,
    GroupsClient,
    RetryPolicy,
    SinchTransportError,
)
from sinch_emulator import (
    DEFAULT_PLAN_ID,
    DEFAULT_PROJECT,
    DEFAULT_TOKEN,
    EmulatorConfig,
    EmulatorServer,
    create_app,
    serve,
)
from sinch_emulator import auth as emulator_auth
from tests.certificates import self_signed_for_loopback

from .helpers import REPO, FaultLog, assert_one_line_error

CANARY = "SECRET-TOKEN-canary-123"


def outward_address() -> str | None:
    """This machine's address on its default route (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent for a UDP connect
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP listener on this machine's outward address: (host:port, bytes it received)."""
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no address other than loopback")
    received: list[bytes] = []
    server = socket.create_server((address, 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    received.append(connection.recv(65536) or b"(connected)")
                except TimeoutError:
                    received.append(b"(connected)")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"{address}:{server.getsockname()[1]}", received
    stop.set()
    thread.join(5)
    server.close()


def test_sync_refuses_plain_http_to_another_host_before_sending_anything(
    listener: tuple[str, list[bytes]],
    prefect_harness: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hostport, received = listener
    monkeypatch.setenv("SINCH_SERVICE_PLAN_ID", DEFAULT_PLAN_ID)
    monkeypatch.setenv("SINCH_API_TOKEN", CANARY)
    monkeypatch.setenv("SINCH_BASE_URL", f"http://{hostport}")
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.csv").write_text("phone\n+447900000001\n")

    result = CliRunner().invoke(app, ["sync", "c.csv", "--group", "x", "--no-progress"])

    assert result.exit_code == 1, result.output
    assert "over plain HTTP" in assert_one_line_error(result.output)
    assert CANARY not in result.output
    time.sleep(0.3)
    assert received == [], "not even a connection was made"
    # The control: the same listener does see a client that does connect.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://{hostport}/", timeout=0.5)
    time.sleep(0.3)
    assert received, "the listener works, so its silence above means something"


class HostRecorder:
    """ASGI middleware recording the Host header of every request reaching the emulator."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.hosts: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.hosts.append(dict(scope["headers"]).get(b"host", b"").decode())
        await self.inner(scope, receive, send)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://0.0.0.0:80",
        "http://[::ffff:127.0.0.1]",
        "http://127.1",
        "HTTP://EXAMPLE.COM",
        "http://127.0.0.1@evil.example",
        "http://127.0.0.1:80@evil.example",
        "http://[::1]@evil.example",
        "http://evil.example#@127.0.0.1",
        "http://evil.example/?u=http://127.0.0.1",
        "http://evil.example\\@127.0.0.1",
        "http://127\u30020\u30020\u30021",
        "http://LOCALHOST:8000",
    ],
)
def test_every_spelling_of_a_url_either_is_refused_or_reaches_only_loopback(
    base_url: str,
) -> None:
    """Userinfo, fragments, IDNA dots, IPv4-mapped and short-form addresses: the host the
    check approves is the host the request goes to, and it is this machine."""
    recorder = HostRecorder(create_app(EmulatorConfig()))
    refused: Exception | None = None
    try:
        client = GroupsClient(
            service_plan_id=DEFAULT_PLAN_ID,
            token=CANARY,
            base_url=base_url,
            transport=httpx.ASGITransport(app=recorder),
        )
    except (ConfigurationError, httpx.InvalidURL) as error:
        refused = error
    if refused is not None:
        assert CANARY not in str(refused)
        return

    async def call() -> None:
        async with client:
            await client.list_groups()

    with pytest.raises(AuthenticationError):  # it got there: the canary is not the plan's token
        asyncio.run(call())
    [host] = recorder.hosts
    name = host[1:].split("]")[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    assert name.lower() == "localhost" or ipaddress.ip_address(name).is_loopback, host


@pytest.fixture
def untrusted_https(fault_log: FaultLog, tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    """The emulator over HTTPS with a self-signed certificate for 127.0.0.1: (base URL, a
    context that trusts it, for the control request)."""
    cert_file, key_file = self_signed_for_loopback(tmp_path)
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(
        create_app(EmulatorConfig(projects=[DEFAULT_PROJECT])),
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
        log_level="critical",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, args=([sock],), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the HTTPS emulator did not start"
        time.sleep(0.01)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    yield f"https://127.0.0.1:{sock.getsockname()[1]}", trusting
    server.should_exit = True
    thread.join(10)
    sock.close()


async def test_an_untrusted_certificate_stops_the_client_before_any_request(
    untrusted_https: tuple[str, ssl.SSLContext], fault_log: FaultLog
) -> None:
    base_url, trusting = untrusted_https
    for credentials in (
        {"service_plan_id": DEFAULT_PLAN_ID, "token": DEFAULT_TOKEN},
        {
            "project_id": DEFAULT_PROJECT.project_id,
            "key_id": DEFAULT_PROJECT.key_id,
            "key_secret": DEFAULT_PROJECT.key_secret,
        },
    ):
        quick = RetryPolicy(max_attempts=2, initial=0.01, maximum=0.01)  # the default, faster
        async with GroupsClient(base_url=base_url, retry=quick, **credentials) as client:  # type: ignore[arg-type]
            with pytest.raises(SinchTransportError, match=r"(?i)certificate"):
                await client.list_groups()
    assert fault_log.requests == 0, "no request reached the server"
    # The control: a client that trusts the certificate gets through to the same server.
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    async with httpx.AsyncClient(verify=trusting) as trusted:
        response = await trusted.get(f"{base_url}/xms/v1/{DEFAULT_PLAN_ID}/groups", headers=headers)
    assert response.status_code == 200
    assert fault_log.requests == 1


def test_no_code_turns_certificate_verification_off() -> None:
    """Nothing in the shipped code passes `verify=False`, builds an unverified SSL context or
    switches hostname checks off (the behaviour above covers the client as it is built now;
    this keeps a later `verify=False` from slipping in anywhere else)."""
    forbidden = re.compile(
        r"verify\s*=\s*(False|0|None)|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
        r"|PYTHONHTTPSVERIFY|trust_env\s*=\s*False"
    )
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for folder in ("pipeline", "flows")
        for path in sorted((REPO / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if forbidden.search(line)
    ]
    assert offenders == []


def test_the_emulator_compares_every_secret_in_constant_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plan tokens and key secrets go through `secrets.compare_digest`; issued access tokens
    are looked up by their SHA-256, so neither leaks a matching prefix through timing."""
    compared: list[tuple[bytes, bytes]] = []
    real = emulator_auth.secrets

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real.compare_digest(a, b)

    monkeypatch.setattr(
        emulator_auth,
        "secrets",
        SimpleNamespace(compare_digest=compare_digest, token_urlsafe=real.token_urlsafe),
    )
    config = EmulatorConfig(projects=[DEFAULT_PROJECT])
    authenticator = emulator_auth.Authenticator(config.plans, config.projects, token_ttl=60)
    with pytest.raises(emulator_auth.UnauthorizedError):
        authenticator.authorize(DEFAULT_PLAN_ID, "Bearer demo-tokeX")
    assert (b"demo-tokeX", DEFAULT_TOKEN.encode()) in compared
    pair = f"{DEFAULT_PROJECT.key_id}:{DEFAULT_PROJECT.key_secret}".encode()
    header = f"Basic {base64.b64encode(pair).decode()}"
    issued = authenticator.issue_token(header, "client_credentials")["access_token"]
    assert (DEFAULT_PROJECT.key_secret.encode(),) * 2 in compared
    authenticator.authorize(DEFAULT_PROJECT.project_id, f"Bearer {issued}")
    assert str(issued) not in repr(vars(authenticator)), "no access token is kept in clear"


def test_the_emulator_listens_on_loopback_unless_told_otherwise() -> None:
    command = typer.main.get_command(app).commands["emulator"]  # type: ignore[attr-defined]
    [host] = [param for param in command.params if param.name == "host"]
    assert host.default == "127.0.0.1"
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    with EmulatorServer(EmulatorConfig()) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        address = outward_address()
        if address is not None:
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://{address}:{server.port}/xms/v1/x/groups", timeout=2)


@pytest.mark.parametrize(
    ("source", "destination"),
    [
        ({"service_plan_id": "../../etc"}, {"service_plan_id": "/abs"}),
        ({"project_id": "..\\..\\x"}, {"project_id": "a/b"}),
        ({}, {"service_plan_id": ".."}),
    ],
)
def test_the_default_mapping_file_stays_in_its_folder_whatever_the_account_ids(
    source: dict[str, str], destination: dict[str, str]
) -> None:
    """Account ids in a crafted snapshot's metadata name the mapping file: they are slugged."""
    path = default_mapping_path(source, destination)

    assert path.parent == Path("sinch-groups-migrations")
    assert path.name.endswith(".parquet")
    assert "/" not in path.name
    assert "\\" not in path.name
    assert ".." not in path.name.removesuffix(".parquet").split("--to--")
