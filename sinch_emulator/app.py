"""The routing table, the gate in front of the Sinch routes, and `create_app`.

Request path for `/xms/v1/{namespace}/...`: latency -> bearer auth (401) -> rate limit (429)
-> injected 500/503 -> maybe a dropped connection (before or after applying) -> routing
(404/405) -> the handler. `/oauth2/token` and `/_emulator/*` skip the gate: the token
endpoint stands in for a separate host (auth.sinch.com), and the control routes must keep
working while faults are on. The control routes need no credentials (a local test helper).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import Authenticator
from .config import EmulatorConfig
from .constants import API_PREFIX
from .entities import Clock
from .exceptions import EmulatorError
from .faults import FaultInjector, Reset, discard, drop_connection
from .models import GroupsModel
from .responses import EmulatorAPI, error_response, handle_error
from .store import Store

Handler = Callable[[Request], Awaitable[Response]]


def create_app(config: EmulatorConfig, *, clock: Clock = time.time) -> Starlette:
    """A fresh emulator as an ASGI app (storage opened now, closed at lifespan shutdown).

    `clock` (seconds since the epoch) drives timestamps, token expiry and the rate limit,
    so tests can move time instead of sleeping.
    """
    store = Store(config.db_path)
    model = GroupsModel(store, clock=clock, refused_numbers=config.faults.refuse_numbers)
    auth = Authenticator(config.plans, config.projects, token_ttl=config.token_ttl, clock=clock)
    faults = FaultInjector(config.faults, clock=clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    app = Starlette(
        routes=routes(EmulatorAPI(model, auth, faults)),
        middleware=[Middleware(SinchGate, auth=auth, faults=faults)],
        exception_handlers={EmulatorError: handle_error, HTTPException: handle_error},
        lifespan=lifespan,
    )
    # No such path is a 404 (the contract), not a 307 to the path without its trailing slash:
    # a client that follows it would turn `POST /groups/` (an update with an empty id) into a create.
    app.router.redirect_slashes = False
    return app


def routes(api: EmulatorAPI) -> list[Route]:
    """The routing table: one route per path, so a 405 lists every allowed method."""
    groups = API_PREFIX + "/{namespace}/groups"
    return [
        _route(groups, {"GET": api.list_groups, "POST": api.create_group}),
        _route(
            groups + "/{group_id}",
            {
                "GET": api.get_group,
                "POST": api.update_group,
                "PUT": api.replace_group,
                "DELETE": api.delete_group,
            },
        ),
        _route(groups + "/{group_id}/members", {"GET": api.list_members}),
        _route("/oauth2/token", {"POST": api.issue_token}),
        _route("/_emulator/reset", {"POST": api.reset}),
        _route("/_emulator/faults", {"PUT": api.put_faults}),
        _route("/_emulator/inbound", {"POST": api.inbound}),
    ]


def _route(path: str, handlers: Mapping[str, Handler]) -> Route:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, dispatch, methods=list(handlers))


class SinchGate:
    """ASGI middleware for the Sinch namespace: auth and the configured faults."""

    def __init__(self, app: ASGIApp, *, auth: Authenticator, faults: FaultInjector) -> None:
        self.app = app
        self.auth = auth
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        namespace = scope["path"][len(API_PREFIX) + 1 :].partition("/")[0]
        try:
            self.auth.authorize(namespace, Headers(scope=scope).get("authorization"))
            self.faults.throttle(namespace)
            reset = self.faults.draw()
        except EmulatorError as error:
            await error_response(error)(scope, receive, send)
            return
        if reset is Reset.AFTER:
            await self.app(scope, receive, discard)
        if reset is None:
            await self.app(scope, receive, send)
        else:
            await drop_connection(send)
