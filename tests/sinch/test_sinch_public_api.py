"""The package surface: exported names, the exception tree, and the layering rules."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

import pipeline.sinch
from pipeline.sinch import (
    UNSET,
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientStats,
    ConfigurationError,
    CreateOutcomeUnknownError,
    ForbiddenError,
    Group,
    InvalidGroupIdError,
    InvalidNumberError,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    SinchError,
    SinchTransportError,
    UnexpectedResponseError,
    UnknownGroupError,
    validate_group_id,
)
from pipeline.sinch._exceptions import parse_retry_after

EXPORTED = [
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


def isort_key(name: str) -> tuple[int, str]:
    """ruff's order for __all__: CONSTANTS, then Classes, then functions."""
    kind = 0 if name.replace("_", "").isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_all_is_pinned_and_sorted() -> None:
    assert pipeline.sinch.__all__ == EXPORTED
    assert sorted(EXPORTED, key=isort_key) == EXPORTED
    public = {name for name in vars(pipeline.sinch) if not name.startswith("_")}
    assert public - set(EXPORTED) == {"annotations"}  # the __future__ import


def test_errors_present_themselves_under_the_package() -> None:
    for name in EXPORTED:
        value = getattr(pipeline.sinch, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert value.__module__ == "pipeline.sinch", name


@pytest.mark.parametrize(
    ("leaf", "bases"),
    [
        (ConfigurationError, (SinchError,)),
        (InvalidGroupIdError, (SinchError, ValueError)),
        (SinchTransportError, (SinchError,)),
        (CreateOutcomeUnknownError, (SinchError,)),
        (UnexpectedResponseError, (SinchError,)),
        (BadRequestError, (APIError, SinchError)),
        (InvalidNumberError, (BadRequestError, APIError)),
        (AuthenticationError, (APIError,)),
        (UnknownGroupError, (ForbiddenError, APIError)),
        (NotFoundError, (APIError,)),
        (RateLimitedError, (APIError,)),
        (ServerError, (APIError,)),
    ],
)
def test_exception_tree(leaf: type[BaseException], bases: tuple[type, ...]) -> None:
    assert issubclass(leaf, bases)
    assert leaf.__name__ in (pipeline.sinch._exceptions.__doc__ or "")


def test_the_client_imports_neither_the_emulator_nor_prefect() -> None:
    code = (
        "import sys, pipeline.sinch; "
        "bad = [m for m in sys.modules if m.startswith(('sinch_emulator', 'prefect'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_unset_is_a_distinct_sentinel() -> None:
    assert UNSET is not None
    assert repr(UNSET) == "UNSET"
    assert UNSET is pipeline.sinch.UnsetType.UNSET


def test_validate_group_id_returns_valid_ids() -> None:
    assert validate_group_id("01FC66621VHDBN119Z8PMV1QPQ") == "01FC66621VHDBN119Z8PMV1QPQ"
    with pytest.raises(InvalidGroupIdError, match="Crockford"):
        validate_group_id("01FC66621VHDBN119Z8PMV1QPI")


def test_timestamps_become_aware_utc() -> None:
    group = Group.model_validate(
        {
            "id": "01FC66621VHDBN119Z8PMV1QPQ",
            "created_at": "2024-06-06T10:59:22.156+02:00",
            "modified_at": "2024-06-06T08:59:22.156Z",
        }
    )
    assert group.created_at == datetime(2024, 6, 6, 8, 59, 22, 156000, tzinfo=UTC)
    assert group.created_at.tzinfo is UTC
    assert group.modified_at.tzinfo is UTC
    assert (group.name, group.size, group.child_groups, group.auto_update) == (None, 0, [], None)
    with pytest.raises(ValueError, match="frozen"):
        group.name = "changed"


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Group.model_validate(
            {"id": "x", "created_at": "2024-06-06T08:59:22", "modified_at": "2024-06-06T08:59:22Z"}
        )


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    later = datetime.now(timezone(timedelta(hours=2))) + timedelta(seconds=30)
    assert parse_retry_after("7") == 7.0
    assert 25 <= (parse_retry_after(format_datetime(later.astimezone(UTC), usegmt=True)) or 0) <= 30
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    "options",
    [{"max_attempts": 0}, {"initial": -1.0}, {"maximum": -1.0}, {"total_timeout": -1.0}],
)
def test_retry_policy_rejects_nonsense(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**options)  # type: ignore[arg-type]


def test_client_stats_is_safe_across_threads() -> None:
    stats = ClientStats()

    def hammer() -> None:
        for _ in range(10_000):
            stats.record_request()
            stats.record_response(200)
            stats.record_retry()
            stats.record_transport_error()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert stats.as_dict() == {
        "requests": 80_000,
        "retries": 80_000,
        "transport_errors": 80_000,
        "responses": {200: 80_000},
    }
    assert (stats.requests, stats.retries, stats.transport_errors) == (80_000,) * 3
    assert stats.responses == {200: 80_000}
