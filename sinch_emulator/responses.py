"""HTTP <-> model: parse a request, call one model method, serialize the answer.

Parsing checks only the JSON shape (types, required keys); the values' rules live in
`models`. Decisions the contract leaves open (inferred, kept here where they are enforced):
- A body is only read on POST/PUT. An empty body needs no Content-Type and counts as `{}`;
  a non-empty body needs `Content-Type: application/json` (any parameters) or gets 415.
- `page`/`page_size` that are not integers: 400 syntax_invalid_parameter_format; integers
  out of range (including negative): 400 syntax_constraint_violation.
- A missing required key (`members` on replace, `auto_update.to`, a keyword's `first_word`):
  400 syntax_constraint_violation. Unknown keys are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .auth import Authenticator
from .config import ConfigError, Faults
from .constants import DEFAULT_PAGE, DEFAULT_PAGE_SIZE
from .entities import UNSET, AutoUpdate, Group, GroupChanges, GroupSpec, Keyword
from .exceptions import (
    ConstraintViolationError,
    EmulatorError,
    InvalidJSONError,
    InvalidParameterError,
    MethodNotAllowedError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from .faults import FaultInjector
from .models import GroupsModel

_INTEGER = re.compile(r"-?[0-9]+")


class EmulatorAPI:
    """The request handlers, bound to one emulator's model, authenticator and faults."""

    def __init__(self, model: GroupsModel, auth: Authenticator, faults: FaultInjector) -> None:
        self.model = model
        self.auth = auth
        self.faults = faults

    async def list_groups(self, request: Request) -> Response:
        """GET /groups?page&page_size -> {page, page_size (returned), count (total), groups}."""
        result = self.model.list_groups(
            _namespace(request),
            page=_query_int(request, "page", DEFAULT_PAGE),
            page_size=_query_int(request, "page_size", DEFAULT_PAGE_SIZE),
        )
        return JSONResponse(
            {
                "page": result.page,
                "page_size": len(result.groups),
                "count": result.count,
                "groups": [_group_json(group) for group in result.groups],
            }
        )

    async def create_group(self, request: Request) -> Response:
        """POST /groups -> 201 and the new group."""
        spec = _group_spec(await _json_object(request), members_required=False)
        return JSONResponse(
            _group_json(self.model.create_group(_namespace(request), spec)), status_code=201
        )

    async def get_group(self, request: Request) -> Response:
        """GET /groups/{id}."""
        return JSONResponse(
            _group_json(self.model.get_group(_namespace(request), _group_id(request)))
        )

    async def update_group(self, request: Request) -> Response:
        """POST /groups/{id}: incremental changes."""
        changes = _group_changes(await _json_object(request))
        group = self.model.update_group(_namespace(request), _group_id(request), changes)
        return JSONResponse(_group_json(group))

    async def replace_group(self, request: Request) -> Response:
        """PUT /groups/{id}: the whole group."""
        spec = _group_spec(await _json_object(request), members_required=True)
        group = self.model.replace_group(_namespace(request), _group_id(request), spec)
        return JSONResponse(_group_json(group))

    async def delete_group(self, request: Request) -> Response:
        """DELETE /groups/{id} -> 200 with an empty body."""
        self.model.delete_group(_namespace(request), _group_id(request))
        return Response(status_code=200)

    async def list_members(self, request: Request) -> Response:
        """GET /groups/{id}/members -> a bare array of digit strings."""
        body = self.model.list_members_json(_namespace(request), _group_id(request))
        return Response(body, media_type="application/json")

    async def issue_token(self, request: Request) -> Response:
        """POST /oauth2/token: form `grant_type=client_credentials`, HTTP Basic key."""
        form: dict[str, list[str]] = {}
        if _media_type(request) == "application/x-www-form-urlencoded":
            form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        token = self.auth.issue_token(
            request.headers.get("authorization"), form.get("grant_type", [None])[0]
        )
        return JSONResponse(token, headers={"Cache-Control": "no-store"})

    async def reset(self, request: Request) -> Response:
        """POST /_emulator/reset: wipe every group (faults and issued tokens stay)."""
        self.model.reset()
        return Response(status_code=204)

    async def put_faults(self, request: Request) -> Response:
        """PUT /_emulator/faults: replace the faults (absent keys take their defaults)."""
        try:
            faults = Faults.from_mapping(await _json_object(request))
        except ConfigError as error:
            raise ConstraintViolationError(str(error)) from error
        self.faults.configure(faults)
        self.model.refused_numbers = faults.refuse_numbers
        return JSONResponse(faults.to_dict())

    async def inbound(self, request: Request) -> Response:
        """POST /_emulator/inbound: simulate an SMS to a group's `auto_update.to` number.

        Body `{"from": MSISDN, "to": NUMBER, "body": TEXT, "service_plan_id"?: ID}` (the first
        three required strings, 400 syntax_constraint_violation when missing); answers
        `{"joined": [group ids], "left": [group ids]}`. The rules: `GroupsModel.receive_inbound`.
        """
        message = await _json_object(request)
        sender, to, body = (_required_string(message, key) for key in ("from", "to", "body"))
        result = self.model.receive_inbound(
            sender, to, body, namespace=_string(message, "service_plan_id")
        )
        return JSONResponse({"joined": result.joined, "left": result.left})


def _group_json(group: Group) -> dict[str, Any]:
    """The wire form of a group: null fields left out, timestamps `...T..:..:..mmmZ`."""
    data: dict[str, Any] = {
        "id": group.id,
        "name": group.name,
        "size": group.size,
        "created_at": _timestamp(group.created_at),
        "modified_at": _timestamp(group.modified_at),
        "child_groups": list(group.child_groups),
        "auto_update": group.auto_update.to_dict() if group.auto_update else None,
    }
    return {key: value for key, value in data.items() if value is not None}


def _timestamp(moment: datetime) -> str:
    """`2024-06-06T08:59:22.156Z`: UTC, milliseconds, `Z` (the store keeps UTC datetimes)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error_response(error: EmulatorError) -> JSONResponse:
    """Any emulator error as its JSON body, status and headers."""
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


async def handle_error(request: Request, exc: Exception) -> Response:
    """Starlette exception handler: routing errors and API errors share one body shape."""
    error = exc if isinstance(exc, EmulatorError) else _routing_error(request, exc)
    return error_response(error)


def _routing_error(request: Request, exc: Exception) -> EmulatorError:
    """Starlette's router raises only HTTPException 404 (no route) and 405 (other method)."""
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return MethodNotAllowedError(
            f"Method {request.method} is not allowed on this path", headers=dict(exc.headers or {})
        )
    return NotFoundError(f"No resource at {request.url.path}")


def _namespace(request: Request) -> str:
    return str(request.path_params["namespace"])


def _group_id(request: Request) -> str:
    return str(request.path_params["group_id"])


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _query_int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value):
        raise InvalidParameterError(f"{name} must be an integer, got '{value}'")
    return int(value)


async def _json_object(request: Request) -> Mapping[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    if _media_type(request) != "application/json":
        raise UnsupportedMediaTypeError("Content-Type must be application/json")
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise InvalidJSONError(f"Request body is not valid JSON: {error}") from error
    except RecursionError as error:
        raise InvalidJSONError("Request body is not valid JSON: nested too deeply") from error
    if not isinstance(data, dict):
        raise InvalidJSONError("Request body must be a JSON object")
    try:
        # `"\ud800"` parses, but a lone surrogate is no character: it could not be stored or sent.
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError as error:
        raise InvalidJSONError(
            "Request body is not valid JSON: a string holds a lone surrogate (\\ud800-\\udfff)"
        ) from error
    return data


def _group_spec(body: Mapping[str, Any], *, members_required: bool) -> GroupSpec:
    members = _strings(body, "members")
    if members is None and members_required:
        raise ConstraintViolationError("members is required")
    return GroupSpec(
        name=_string(body, "name"),
        members=members or (),
        child_groups=_strings(body, "child_groups") or (),
        auto_update=_auto_update(body),
    )


def _group_changes(body: Mapping[str, Any]) -> GroupChanges:
    return GroupChanges(
        add=_strings(body, "add") or (),
        remove=_strings(body, "remove") or (),
        name=_string(body, "name") if "name" in body else UNSET,
        add_from_group=_string(body, "add_from_group"),
        remove_from_group=_string(body, "remove_from_group"),
        auto_update=_auto_update(body),
    )


def _auto_update(body: Mapping[str, Any]) -> AutoUpdate | None:
    value = _object(body, "auto_update")
    if value is None:
        return None
    to = _string(value, "to", "auto_update.to")
    if to is None:
        raise ConstraintViolationError("auto_update.to is required")
    return AutoUpdate(to=to, add=_keyword(value, "add"), remove=_keyword(value, "remove"))


def _keyword(auto_update: Mapping[str, Any], key: str) -> Keyword | None:
    where = f"auto_update.{key}"
    value = _object(auto_update, key, where)
    if value is None:
        return None
    first_word = _string(value, "first_word", f"{where}.first_word")
    if first_word is None:
        raise ConstraintViolationError(f"{where}.first_word is required")
    return Keyword(first_word, _string(value, "second_word", f"{where}.second_word"))


def _string(body: Mapping[str, Any], key: str, where: str = "") -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidJSONError(f"{where or key} must be a string")
    return value


def _required_string(body: Mapping[str, Any], key: str) -> str:
    value = _string(body, key)
    if value is None:
        raise ConstraintViolationError(f"{key} is required")
    return value


def _strings(body: Mapping[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is not None and not (
        isinstance(value, list) and all(isinstance(item, str) for item in value)
    ):
        raise InvalidJSONError(f"{key} must be an array of strings")
    return value


def _object(body: Mapping[str, Any], key: str, where: str = "") -> Mapping[str, Any] | None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise InvalidJSONError(f"{where or key} must be an object")
    return value
