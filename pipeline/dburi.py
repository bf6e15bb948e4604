"""Where a `--query` runs: a database URI, which is a secret, and the one place that knows it.

A URI such as `postgresql://crm:hunter2@db/crm` carries a password, so it is held by a
`DatabaseUri` whose `repr` and `str` are the masked form (`postgresql://crm:***@db/crm`): an
options object, a log line, a traceback or a report that mentions it shows only that. The URI is
named by the user in one of three ways (the CLI's `--db`, `--db-env`, `--db-block`); the
first two are resolved here, the Prefect Secret block in `flows/` (the library never imports
Prefect). Nothing here imports polars or a driver (and it sits outside `load/`, whose package
imports polars), so the options module can use it while `--help` stays fast.
"""

from __future__ import annotations

import os
import re
from typing import Literal
from urllib.parse import unquote, urlsplit

from pipeline.errors import DatabaseError

__all__ = [
    "DEFAULT_DB_ENV",
    "Backend",
    "DatabaseUri",
    "mask_uri",
    "resolve_database",
]

DEFAULT_DB_ENV = "SINCH_GROUPS_DB_URL"
"""The environment variable a `--query` reads its URI from when no database is named."""

Backend = Literal["postgresql", "sqlite", "duckdb", "mysql"]

_BACKENDS: dict[str, Backend] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "mysql": "mysql",
    "mariadb": "mysql",
}
_MASK = "***"
_USERINFO_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.\-]*://[^:@/\s]*:)[^@\s]*(?P<at>@)", re.I)
_PARAM_PASSWORD = re.compile(r"(?P<head>\b(?:password|pwd|passwd)=)[^&\s'\"]*", re.I)


def mask_uri(text: str) -> str:
    """`text` with every URI password (`user:secret@`, `?password=secret`) replaced by `***`:
    for a URI, and for any message that might quote one."""
    text = _USERINFO_PASSWORD.sub(rf"\g<head>{_MASK}\g<at>", text)
    return _PARAM_PASSWORD.sub(rf"\g<head>{_MASK}", text)


class DatabaseUri:
    """A database URI that never shows its password: its `repr` and `str` are the masked form,
    so options, logs and tracebacks that hold it stay safe; `reveal()` is for the driver's
    connect call only."""

    __slots__ = ("_uri",)

    def __init__(self, uri: str) -> None:
        self._uri = uri.strip()

    def reveal(self) -> str:
        """The URI in clear, for the one call that connects."""
        return self._uri

    @property
    def masked(self) -> str:
        """`postgresql://crm:***@db.example.com/crm`: what messages and logs show."""
        return mask_uri(self._uri)

    @property
    def backend(self) -> Backend:
        """Which driver reads it, from the scheme (`postgres://` and `postgresql+psycopg://` are
        PostgreSQL; `mariadb://` is MySQL)."""
        scheme = self._uri.partition("://")[0].lower().partition("+")[0]
        if "://" not in self._uri or scheme not in _BACKENDS:
            raise DatabaseError(
                f"cannot tell which database {self.masked!r} is: the URI must start with "
                "postgresql://, mysql://, sqlite:/// or duckdb:///"
            )
        return _BACKENDS[scheme]

    def secrets(self) -> list[str]:
        """The password as written and decoded: what `scrub` removes from a driver's message."""
        try:
            password = urlsplit(self._uri).password
        except ValueError:
            return []
        return [
            value for value in dict.fromkeys([password or "", unquote(password or "")]) if value
        ]

    def scrub(self, message: str) -> str:
        """A driver's message, safe to show: URIs masked, and the password removed wherever
        the driver may have quoted it."""
        for secret in self.secrets():
            message = message.replace(secret, _MASK)
        return mask_uri(message)

    def __repr__(self) -> str:
        return f"DatabaseUri({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatabaseUri) and other._uri == self._uri

    def __hash__(self) -> int:
        return hash(self._uri)


def resolve_database(db: DatabaseUri | str | None, db_env: str | None) -> DatabaseUri:
    """The URI a query reads from: the one given, else the named environment variable, else
    `$SINCH_GROUPS_DB_URL`. Read where the query runs (a Prefect worker reads its own
    environment), so a password is never typed into, or recorded as, a parameter."""
    if db is not None:
        return db if isinstance(db, DatabaseUri) else DatabaseUri(db)
    name = db_env or DEFAULT_DB_ENV
    value = os.environ.get(name, "").strip()
    if value:
        return DatabaseUri(value)
    if db_env:
        raise DatabaseError(f"--db-env names ${name}, which is not set (or empty) here")
    raise DatabaseError(
        "--query needs a database: pass --db URI, --db-env VAR or --db-block NAME, "
        f"or set ${DEFAULT_DB_ENV}"
    )
