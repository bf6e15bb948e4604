"""Async client for the Sinch SMS Groups REST API (xms v1).

The working code lives in the private modules; this package only re-exports the public names.
"""

from __future__ import annotations

from ._client import ClientOptions, GroupsClient
from ._config import MAX_MEMBERS_PER_REQUEST, MAX_PAGE_SIZE
from ._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    CreateOutcomeUnknownError,
    ForbiddenError,
    InvalidGroupIdError,
    InvalidNumberError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    SinchError,
    SinchTransportError,
    UnexpectedResponseError,
    UnknownGroupError,
)
from ._models import UNSET, AutoUpdate, Group, GroupPage, Keyword, UnsetType, validate_group_id
from ._retry import RetryPolicy
from ._stats import ClientStats
from ._target import Target

__all__ = [
    "MAX_MEMBERS_PER_REQUEST",
    "MAX_PAGE_SIZE",
    "UNSET",
    "APIError",
    "AuthenticationError",
    "AutoUpdate",
    "BadRequestError",
    "ClientOptions",
    "ClientStats",
    "ConfigurationError",
    "CreateOutcomeUnknownError",
    "ForbiddenError",
    "Group",
    "GroupPage",
    "GroupsClient",
    "InvalidGroupIdError",
    "InvalidNumberError",
    "Keyword",
    "NotFoundError",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "SinchError",
    "SinchTransportError",
    "Target",
    "UnexpectedResponseError",
    "UnknownGroupError",
    "UnsetType",
    "validate_group_id",
]

# Errors present themselves as `pipeline.sinch.X`, the name users import and catch, rather than
# the private module they happen to live in (httpx does the same).
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type) and issubclass(_value, BaseException):
        _value.__module__ = __name__
del _name, _value
