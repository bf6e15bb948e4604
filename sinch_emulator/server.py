"""Run the emulator over real HTTP: in a background thread (tests, the CLI's embedded mode)
or in the foreground (`serve`, the CLI's `emulator` command).

Both bind the listening socket themselves before uvicorn starts, so port 0 works (the OS
picks a free port) and the real port is known before the first request.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .config import EmulatorConfig
from .constants import API_PREFIX

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_START_TIMEOUT = 10.0
_RESET_MESSAGE = "ASGI callable returned without completing response."


class _HideInjectedResets(logging.Filter):
    """uvicorn logs every dropped connection as an error; here they are injected on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _RESET_MESSAGE


logging.getLogger("uvicorn.error").addFilter(_HideInjectedResets())


class EmulatorServer:
    """A real uvicorn server on a thread; a context manager, or `start()` / `stop()`.

    >>> with EmulatorServer(EmulatorConfig()) as server:
    ...     server.base_url        # e.g. "http://127.0.0.1:54321"
    """

    def __init__(self, config: EmulatorConfig, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.config = config
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        """Scheme, host and bound port: what a client's base URL / SDK origin should be."""
        return base_url(self.host, self.port)

    def start(self) -> EmulatorServer:
        """Bind, start serving on a daemon thread, and return once requests are accepted."""
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        self._socket = _bind(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        self._server = uvicorn.Server(_uvicorn_config(create_app(self.config)))
        self._thread = threading.Thread(
            target=self._server.run,
            args=([self._socket],),
            name=f"sinch-groups-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_started()
        return self

    def stop(self) -> None:
        """Shut down gracefully (storage closed by the app's lifespan) and release the port."""
        if self._server is None or self._thread is None or self._socket is None:
            return
        self._server.should_exit = True
        self._thread.join(_START_TIMEOUT)
        self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_started(self) -> None:
        assert self._server is not None
        assert self._thread is not None
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the emulator did not start on {self.base_url}")
            time.sleep(0.005)


def _print_now(text: str) -> None:
    """Print and flush, so a parent process reading a pipe sees the banner before serving."""
    print(text, flush=True)


def serve(
    config: EmulatorConfig,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    echo: Callable[[str], None] = _print_now,
) -> None:
    """Serve in the foreground until interrupted, after printing how to reach the emulator.

    The socket listens before the banner is printed, so a client may connect at once.
    """
    with _bind(host, port) as sock:
        echo(banner(config, base_url(host, sock.getsockname()[1])))
        uvicorn.Server(_uvicorn_config(create_app(config))).run([sock])


def banner(config: EmulatorConfig, url: str) -> str:
    """Start-up text: the base URL and every credential it serves, so any client can connect."""
    lines = [f"Sinch Groups emulator at {url}"]
    for plan in config.plans:
        lines.append(
            f"  service plan {plan.id}  token {plan.token}  ->  {url}{API_PREFIX}/{plan.id}/groups"
        )
    for key in config.projects:
        lines.append(
            f"  project {key.project_id}  key_id {key.key_id}  key_secret {key.key_secret}"
            f"  ->  {url}{API_PREFIX}/{key.project_id}/groups"
        )
    if config.projects:
        lines.append(
            f"  OAuth2 token endpoint: POST {url}/oauth2/token"
            f" (access tokens live {config.token_ttl} s)"
        )
    snippets = sdk_snippets(config, url)
    if snippets:
        lines.append("  official Sinch Python SDK (it ignores SINCH_BASE_URL): point it here with")
        lines.extend(["", "\n\n".join(snippets), ""])
    lines.append(f"  storage: {config.db_path or 'in memory (lost on exit)'}")
    faults = {
        key: value
        for key, value in config.faults.to_dict().items()
        if key != "seed" and value not in (0, 0.0, None, [])
    }
    if faults:
        lines.append(f"  faults: {faults} (seed {config.faults.seed})")
    return "\n".join(lines)


def sdk_snippets(config: EmulatorConfig, url: str) -> list[str]:
    """Python that points the official SDK (`pip install sinch`) at this emulator: one snippet for
    the first service plan, one for the first project key.

    The SDK reads no SINCH_BASE_URL: it builds its URLs from `configuration` origins, so a user
    must set those, and getting them wrong silently talks to the real Sinch. The snippets are
    printed flush left so they paste into a Python prompt; a test runs them.
    """
    snippets = []
    if config.plans:
        plan = config.plans[0]
        snippets.append(
            "from sinch import SinchClient\n"
            f"client = SinchClient(service_plan_id={_py(plan.id)}, "
            f"sms_api_token={_py(plan.token)})\n"
            f"client.configuration.sms_origin_with_service_plan_id = {_py(url)}"
        )
    if config.projects:
        key = config.projects[0]
        snippets.append(
            "from sinch import SinchClient  # OAuth2 project key\n"
            f"client = SinchClient(project_id={_py(key.project_id)}, key_id={_py(key.key_id)}, "
            f'key_secret={_py(key.key_secret)}, sms_region="us")\n'
            f"client.configuration.auth_origin = {_py(url)}\n"
            f"client.configuration.sms_origin = {_py(url)}"
        )
    return snippets


def _py(text: str) -> str:
    """A Python string literal in double quotes (a JSON string is one), as the README writes."""
    return json.dumps(text)


def base_url(host: str, port: int) -> str:
    """`http://host:port`, with IPv6 literals bracketed."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket whose `proto` is IPPROTO_TCP.

    asyncio only sets TCP_NODELAY on connections from such sockets; with `proto` 0
    (`socket.create_server`) every keep-alive request stalls ~40 ms on Nagle + delayed ACK.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen()
    except OSError:
        sock.close()
        raise
    return sock


def _uvicorn_config(app: Starlette) -> uvicorn.Config:
    return uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
