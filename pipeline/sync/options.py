"""One validated description of a sync: what to read, where it goes, and how.

Nothing here imports polars, Prefect or pandera, so the CLI can build its options (and its `--help`
can list the modes) without paying for them; the rules a run's options must follow are checked
once, here, before any file is read or any request is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Literal

from pipeline.dburi import DatabaseUri, resolve_database
from pipeline.errors import PipelineError
from pipeline.sync.lock import DEFAULT_LOCK_TIMEOUT

__all__ = ["DEFAULT_PARTITION_ROWS", "Mode", "RunnerKind", "SyncOptions", "SyncOptionsError"]

MIN_PARTITION_ROWS = 1_000
DEFAULT_PARTITION_ROWS = 250_000
"""Rows per normalization task. A sync holds the partitions being normalized (two at once) and
their working columns, about 450 bytes a row in all: a quarter of a million rows keeps a
million-row sync under 512 MiB, and the file's other rows wait in it, unread."""

RunnerKind = Literal["threads", "dask"]
"""Where normalization partitions run: this process's threads, or an existing Dask cluster."""


class Mode(StrEnum):
    """How a file's numbers relate to a group's membership."""

    ADD = "add"
    """Add what is missing; remove nothing (except suppressed numbers)."""
    MIRROR = "mirror"
    """Make the group exactly the file's set (minus suppressed numbers)."""
    REMOVE = "remove"
    """Take the listed numbers out (opt-out lists)."""


class SyncOptionsError(PipelineError):
    """The options do not describe one runnable sync."""


@dataclass(frozen=True, kw_only=True)
class SyncOptions:
    """Everything a sync run is told; the field names are the CLI flags' and the flow's
    parameters' (`--group-id` is `group_id`)."""

    source: str | None = None
    """A CSV or Parquet file, or a glob of several; or None for a `query`."""
    query: str | None = None
    """A SQL query whose rows are the contacts (instead of a source file)."""
    db: DatabaseUri | str | None = None
    """The query's database URI, given directly (held as a `DatabaseUri`, masked in `repr`;
    never a flow parameter)."""
    db_env: str | None = None
    """The environment variable holding the URI, read where the query runs (default
    `$SINCH_GROUPS_DB_URL` when no database is named)."""
    db_block: str | None = None
    """A Prefect Secret block holding the URI; `flows/` reads it on the worker."""
    group: str | None = None
    """Target one group by name (created if missing)."""
    group_id: str | None = None
    """Target one existing group by id."""
    group_column: str | None = None
    """Column naming each row's group; every distinct value is a group."""
    phone_column: str | None = None
    country_column: str | None = None
    sheet: str | None = None
    """The sheet of an Excel or OpenDocument workbook to read; default the first."""
    default_region: str | None = None
    mode: Mode = Mode.ADD
    dry_run: bool = False
    max_remove_fraction: float = 0.10
    force: bool = False
    mobile_only: bool = False
    suppress: tuple[str, ...] = ()
    rejects: str | None = None
    """Where rejected rows go; default `./sinch-groups-runs/<UTC time>/rejects.parquet`."""
    report: str | None = None
    """Where the JSON report goes; default `./sinch-groups-runs/<UTC time>/report.json`."""
    chunk_size: int | None = None
    """Numbers per add/remove array in one request; default (None) the Groups API's maximum,
    `pipeline.sinch.MAX_MEMBERS_PER_REQUEST` (10,000)."""
    only_groups: tuple[str, ...] | None = None
    """With `group_column`, handle only these groups' rows (what a fan-out child gets)."""
    partition_rows: int = DEFAULT_PARTITION_ROWS
    use_cache: bool = True
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    """Seconds to wait for another run that holds one of the groups (0: fail at once)."""
    state: str | None = None
    """Where each group's base (its membership after this tool's last run) is kept; default
    `$SINCH_GROUPS_HOME/state`."""
    optouts: str | None = None
    """Where the opt-out ledger is kept; default `$SINCH_GROUPS_HOME/optouts`."""
    readd_left: bool = False
    """Add back, for this run only, numbers that left a group on Sinch's side."""
    strict: bool = False
    """Mirror also removes members who joined on Sinch's side (a keyword, the dashboard)."""
    allow_empty: bool = False
    """Go on when no row is valid (create the named group empty, apply suppressions); without
    it such a run changes nothing and fails, since an empty result is almost always a wrong
    column or country."""
    fan_out: bool = field(default=False, repr=False)
    """Whether the groups are applied elsewhere (a Prefect deployment per group)."""

    def __post_init__(self) -> None:
        self._check_input()
        if self.sheet is not None and self.query is not None:
            raise SyncOptionsError("--sheet names a sheet of a workbook SOURCE, not of a --query")
        targets = (self.group, self.group_id, self.group_column)
        if sum(option is not None for option in targets) != 1:
            raise SyncOptionsError(
                "name the target with exactly one of --group, --group-id or --group-column"
            )
        if self.fan_out and self.group_column is None:
            raise SyncOptionsError("fanning out runs one flow per group: it needs --group-column")
        if not 0.0 <= self.max_remove_fraction <= 1.0:
            raise SyncOptionsError("--max-remove-fraction must be between 0 and 1")
        from pipeline.sinch import MAX_MEMBERS_PER_REQUEST  # httpx: not for `--help`

        if self.chunk_size is None:
            object.__setattr__(self, "chunk_size", MAX_MEMBERS_PER_REQUEST)
        elif not 1 <= self.chunk_size <= MAX_MEMBERS_PER_REQUEST:
            raise SyncOptionsError(
                f"--chunk-size must be between 1 and {MAX_MEMBERS_PER_REQUEST:,}"
            )
        if self.strict and Mode(self.mode) is not Mode.MIRROR:
            raise SyncOptionsError(
                "--strict only changes what --mode mirror removes; drop it, or use --mode mirror"
            )
        if self.lock_timeout < 0:
            raise SyncOptionsError("--lock-timeout must be 0 (fail at once) or more seconds")
        if self.partition_rows < MIN_PARTITION_ROWS:
            raise SyncOptionsError(f"--partition-rows must be at least {MIN_PARTITION_ROWS:,}")
        object.__setattr__(self, "mode", Mode(self.mode))
        object.__setattr__(self, "suppress", tuple(self.suppress))
        if self.only_groups is not None:
            object.__setattr__(self, "only_groups", tuple(sorted(self.only_groups)))

    def _check_input(self) -> None:
        """One input: a source file, or a query with at most one way of naming its database."""
        if self.source is not None and self.query is not None:
            raise SyncOptionsError("read either a SOURCE file or a --query, not both")
        if self.source is None and self.query is None:
            raise SyncOptionsError("nothing to read: give a SOURCE file, or --query with --db")
        if isinstance(self.db, str):
            object.__setattr__(self, "db", DatabaseUri(self.db))
        named = [self.db, self.db_env, self.db_block]
        if self.query is None and any(value is not None for value in named):
            raise SyncOptionsError("--db, --db-env and --db-block go with --query")
        if sum(value is not None for value in named) > 1:
            raise SyncOptionsError("name the query's database once: --db, --db-env or --db-block")
        if self.query is not None and not self.query.strip():
            raise SyncOptionsError("--query is empty")

    def database(self) -> DatabaseUri:
        """The query's database URI, from `db` or the environment (`pipeline.dburi`); a Secret
        block must have been read into `db` by the caller (`flows/`)."""
        if self.db_block is not None:
            raise SyncOptionsError(
                f"the Secret block {self.db_block!r} is read by the Prefect flow; pass "
                "its URI as `db` to run without Prefect"
            )
        return resolve_database(self.db, self.db_env)

    @property
    def named(self) -> str | None:
        """The one group of --group/--group-id, known before the file is read."""
        return self.group if self.group is not None else self.group_id

    def target_groups(self, mentioned: list[str]) -> tuple[list[str], list[str]]:
        """(names, ids) of the groups this run addresses; a named group is addressed even by an
        empty file, so that its suppressions (and a mirror's guard) still apply."""
        if self.group is not None:
            return [self.group], []
        if self.group_id is not None:
            return [], [self.group_id]
        return mentioned, []

    def flow_parameters(self) -> dict[str, object]:
        """The options as the `sync-groups` flow's parameters (same names; lists for tuples)."""
        if self.db is not None:
            raise SyncOptionsError(
                "a database URI is never a flow parameter (Prefect records and shows those): "
                "name it with db_env or db_block"
            )
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        del values["fan_out"]  # the flow is told where to fan out, not whether
        del values["db"]
        values["suppress"] = list(self.suppress)
        if self.only_groups is not None:
            values["only_groups"] = list(self.only_groups)
        return values

    def normalize_options(self) -> dict[str, object]:
        """What the normalized result depends on beside the files' bytes (the cache key's part)."""
        return {
            "phone_column": self.phone_column,
            "country_column": self.country_column,
            "sheet": self.sheet,
            "group_column": self.group_column,
            "fixed_group": self.named,
            "only_groups": list(self.only_groups) if self.only_groups is not None else None,
            "default_region": self.default_region,
            "mobile_only": self.mobile_only,
        }
