"""What the tool remembers between runs: each group's base and the opt-out ledger.

A sync diffs the file against the live group, so a crashed run converges; but a live diff alone
cannot tell a member who left on Sinch's side (a STOP keyword, the dashboard) from one the file
adds for the first time, and would put them back. The **base** is the membership this tool left a
group with at the end of its last run: a number in the base that is no longer live left on
Sinch's side, a live number not in the base joined there.

- The base of a group is one Parquet file, `STATE/<plan>/<group id>.parquet`, published in one
  rename after the run's verify step; a run killed before that leaves the previous base.
- Before each batch a run sends it notes the batch beside the base, and again once Sinch answered
  (`<group id>.pending/`, a file per batch, kept until a base is published), so that after a kill between the
  writes and the new base, a number our own run removed is never taken for one that left, and one
  it added that leaves afterwards is.
- The **ledger** (`OPTOUTS/<plan>/<group id>.parquet`) keeps every number seen leaving a group.
  It lives apart from the state on purpose: it outlives a lost or deleted state directory, and
  later runs never add those numbers to that group again (unless `--readd-left`).

Each file is written only by the run that holds the group's write lock (`lock.py`), so a file per
group needs no lock of its own. STATE and OPTOUTS may be URLs (`s3://bucket/state`): every read and
write goes through `pipeline.storage`, where a published file is one PUT, as atomic as a rename.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import polars as pl

from pipeline.storage import (
    Location,
    Where,
    home_dir,
    location,
    native,
    read_file_metadata,
    read_parquet,
    write_parquet_atomic,
)

__all__ = [
    "LEDGER_SCHEMA",
    "Base",
    "BaseRecord",
    "OptOutLedger",
    "Pending",
    "StateStore",
    "default_optouts_dir",
    "default_state_dir",
]

LEDGER_SCHEMA = pl.Schema(
    {
        "phone_e164": pl.String,
        "group_id": pl.String,
        "group_name": pl.String,
        "service_plan": pl.String,
        "first_seen_missing": pl.Datetime("ms", "UTC"),
        "run_id": pl.String,
    }
)
PENDING_SCHEMA = pl.Schema({"phone_e164": pl.String, "action": pl.String, "sent": pl.Boolean})
"""A pending note's rows: a number, `add` or `remove`, and whether Sinch answered the batch."""
EMPTY = pl.Series("phone_e164", [], dtype=pl.String)


def default_state_dir() -> Path:
    """`$SINCH_GROUPS_HOME/state` (`--state` moves it, e.g. to storage every worker shares)."""
    return home_dir() / "state"


def default_optouts_dir() -> Path:
    """`$SINCH_GROUPS_HOME/optouts` (`--optouts` moves it)."""
    return home_dir() / "optouts"


def _part(value: str) -> str:
    """A plan or group id as one path part, whatever characters it holds."""
    return quote(value, safe="") or "_"


@dataclass(frozen=True)
class BaseRecord:
    """Who wrote a base: shown in the report beside the counts it led to."""

    run_id: str
    written_at: str
    source_digest: str
    mode: str


@dataclass(frozen=True)
class Pending:
    """What runs since the last base were about to add and remove (empty when none crashed),
    batch by batch, and which of those adds Sinch confirmed."""

    add: pl.Series
    remove: pl.Series
    added: pl.Series = field(default_factory=lambda: EMPTY)
    """Adds Sinch answered: members of ours, so their absence later is a leave."""


@dataclass(frozen=True)
class Base:
    """A group's membership at the end of this tool's last run on it."""

    members: pl.Series
    joined: pl.Series
    """The members who joined on Sinch's side and were kept: not ours to remove in a mirror."""
    record: BaseRecord | None
    """None when only a pending note exists: a first run on the group never finished."""
    pending: Pending


class StateStore:
    """The bases of one service plan's groups under `root` (`default_state_dir()`)."""

    def __init__(self, root: Where, plan: str) -> None:
        self.root = native(root)
        self.plan = plan

    def base_path(self, group_id: str) -> Path | Location:
        return self.root / _part(self.plan) / f"{_part(group_id)}.parquet"

    def pending_path(self, group_id: str) -> Path | Location:
        """A folder: one small file per batch event, so noting a batch costs the batch, not
        everything noted before it (a million-member first sync notes 200 of them)."""
        return self.root / _part(self.plan) / f"{_part(group_id)}.pending"

    def read(self, group_id: str | None) -> Base | None:
        """The group's base, or None for a group this tool has not synced (or whose state is lost)."""
        if group_id is None:
            return None
        path = self.base_path(group_id)
        if not path.exists():
            pending = self.pending(group_id)
            if pending.add.is_empty() and pending.remove.is_empty():
                return None
            return Base(EMPTY, EMPTY, None, pending)
        frame = read_parquet(path)
        meta = read_file_metadata(path)
        record = BaseRecord(
            run_id=meta.get("run_id", ""),
            written_at=meta.get("written_at", ""),
            source_digest=meta.get("source_digest", ""),
            mode=meta.get("mode", ""),
        )
        members = frame.get_column("phone_e164")
        joined = frame.filter(pl.col("joined")).get_column("phone_e164")
        return Base(members, joined, record, self.pending(group_id))

    def pending(self, group_id: str) -> Pending:
        notes = [n for n in location(self.pending_path(group_id)).files() if n.suffix == ".parquet"]
        if not notes:  # (a write cut short leaves only its `.tmp` file)
            return Pending(EMPTY, EMPTY)
        frame = pl.concat([read_parquet(native(note)) for note in notes])

        def numbers(action: str, *, sent: bool | None = None) -> pl.Series:
            rows = pl.col("action") == action
            if sent is not None:
                rows &= pl.col("sent") == sent
            return frame.filter(rows).get_column("phone_e164").unique()

        return Pending(numbers("add"), numbers("remove"), numbers("add", sent=True))

    def record_pending(
        self, group_id: str, add: Sequence[str], remove: Sequence[str], *, sent: bool
    ) -> None:
        """Note a batch this run is about to send (`sent=False`), or that Sinch answered
        (`sent=True`), beside what earlier unfinished runs noted. Kept until a base is published:
        a batch in flight at a kill stays "maybe ours", so our removals never count as leaves."""
        batch = pl.DataFrame(
            {
                "phone_e164": [*add, *remove],
                "action": ["add"] * len(add) + ["remove"] * len(remove),
                "sent": sent,
            },
            schema=PENDING_SCHEMA,
        )
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}-{'sent' if sent else 'sending'}.parquet"
        write_parquet_atomic(batch, self.pending_path(group_id) / name, {}, kind="sync-pending")

    def publish(
        self, group_id: str, members: pl.Series, joined: pl.Series, record: BaseRecord
    ) -> Path | Location:
        """Replace the group's base in one rename, then drop the pending note it settles."""
        frame = (
            members.cast(pl.String)
            .rename("phone_e164")
            .unique()
            .sort()
            .to_frame()
            .with_columns(pl.col("phone_e164").is_in(joined.implode()).alias("joined"))
        )
        metadata = {
            "service_plan": self.plan,
            "group_id": group_id,
            "run_id": record.run_id,
            "written_at": record.written_at,
            "source_digest": record.source_digest,
            "mode": record.mode,
        }
        path = write_parquet_atomic(frame, self.base_path(group_id), metadata, kind="sync-base")
        location(self.pending_path(group_id)).delete_tree()
        return path


class OptOutLedger:
    """Numbers seen leaving a group on Sinch's side, per (service plan, group), under `root`."""

    def __init__(self, root: Where) -> None:
        self.root = native(root)

    def path(self, plan: str, group_id: str) -> Path | Location:
        return self.root / _part(plan) / f"{_part(group_id)}.parquet"

    def _files(self) -> list[Path | Location]:
        """Every ledger file, `<plan>/<group>.parquet`, in one listing."""
        root = location(self.root)
        return [
            native(file)
            for file in root.files()
            if file.suffix == ".parquet" and file.parent.parent == root
        ]

    def _read(self, path: Path | Location) -> pl.DataFrame:
        if not path.exists():
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        return read_parquet(path).cast(dict(LEDGER_SCHEMA))  # type: ignore[arg-type]

    def numbers(self, plan: str, group_id: str | None, name: str | None = None) -> pl.Series:
        """The group's opted-out numbers: never added to it again. Entries of any group of the
        plan with the same name count too: a group deleted in the dashboard and created again by
        name must not take back those who left the old one."""
        found = [] if group_id is None else [self._read(self.path(plan, group_id))]
        if name is not None:
            same_name = (pl.col("service_plan") == plan) & (pl.col("group_name") == name)
            found += [self._read(path).filter(same_name) for path in self._files()]
        if not found:
            return EMPTY
        return pl.concat(frame.get_column("phone_e164") for frame in found).unique()

    def record(
        self,
        plan: str,
        group_id: str,
        group_name: str | None,
        numbers: pl.Series,
        run_id: str,
        seen_at: datetime | None = None,
    ) -> int:
        """Add the numbers not in the ledger yet (an entry keeps the first time it was seen);
        returns how many are new."""
        path = self.path(plan, group_id)
        known = self._read(path)
        fresh = numbers.cast(pl.String).unique()
        fresh = fresh.filter(~fresh.is_in(known.get_column("phone_e164").implode()))
        if fresh.is_empty():
            return 0
        entries = pl.DataFrame(
            {
                "phone_e164": fresh.sort(),
                "group_id": group_id,
                "group_name": group_name,
                "service_plan": plan,
                "first_seen_missing": seen_at or datetime.now(UTC),
                "run_id": run_id,
            },
            schema=LEDGER_SCHEMA,
        )
        write_parquet_atomic(
            pl.concat([known, entries]), path, {"service_plan": plan}, kind="optout-ledger"
        )
        return entries.height

    def entries(self) -> pl.DataFrame:
        """Every entry of every plan and group, oldest first."""
        files = self._files()
        if not files:
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        frames = [self._read(path) for path in files]
        return pl.concat(frames).sort("first_seen_missing", "group_id", "phone_e164")

    def forget(self, number: str, *, plan: str | None = None, group_id: str | None = None) -> int:
        """Remove `number` from the ledger (of one plan or group, or everywhere): it may be added
        again. Returns how many entries went."""
        removed = 0
        for path in self._files():
            frame = self._read(path)
            keep = pl.col("phone_e164") != number
            if plan is not None:
                keep |= pl.col("service_plan") != plan
            if group_id is not None:
                keep |= pl.col("group_id") != group_id
            kept = frame.filter(keep)
            if kept.height == frame.height:
                continue
            removed += frame.height - kept.height
            write_parquet_atomic(
                kept, path, {"service_plan": frame.item(0, "service_plan")}, kind="optout-ledger"
            )
        return removed
