"""SQLite storage for groups and their members (stdlib `sqlite3`, no ORM).

Membership is a set, so it is a `(group_pk, msisdn)` primary key in a WITHOUT ROWID table: adds
are `INSERT OR IGNORE`, removes `DELETE`, both through `executemany`, and the row counts SQLite
reports keep `groups.size` exact without counting a million rows per request. One connection
serves every thread; `transaction()` holds a lock for the whole of one API operation, which keeps
the model simple and each operation atomic (all or nothing).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .entities import AutoUpdate, Group

_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    pk INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    size INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    child_groups TEXT NOT NULL,
    auto_update TEXT
);
CREATE INDEX IF NOT EXISTS groups_by_namespace ON groups (namespace, pk);
CREATE TABLE IF NOT EXISTS members (
    group_pk INTEGER NOT NULL,
    msisdn TEXT NOT NULL,
    PRIMARY KEY (group_pk, msisdn)
) WITHOUT ROWID;
"""
_COLUMNS = "pk, id, name, size, created_ms, modified_ms, child_groups, auto_update"


@dataclass(frozen=True, slots=True)
class StoredGroup:
    """A group with its storage key, which the member tables are keyed by."""

    pk: int
    group: Group


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_millis(moment: datetime) -> int:
    """Milliseconds since the epoch: the API's timestamp precision (integer maths, no float)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_millis(millis: int) -> datetime:
    """Aware UTC datetime at millisecond precision (no float rounding)."""
    seconds, rest = divmod(millis, 1000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest * 1000)


def _stored(row: tuple[int, str, str | None, int, int, int, str, str | None]) -> StoredGroup:
    pk, group_id, name, size, created_ms, modified_ms, children, auto_update = row
    return StoredGroup(
        pk,
        Group(
            id=group_id,
            name=name,
            size=size,
            created_at=from_millis(created_ms),
            modified_at=from_millis(modified_ms),
            child_groups=tuple(json.loads(children)),
            auto_update=AutoUpdate.from_dict(json.loads(auto_update)) if auto_update else None,
        ),
    )


def _auto_update_json(group: Group) -> str | None:
    return json.dumps(group.auto_update.to_dict()) if group.auto_update else None


class Store:
    """Groups per namespace (service plan or project) and their member sets.

    Every method other than `transaction`, `wipe` and `close` expects to run inside
    `transaction()`.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            ":memory:" if path is None else str(path),
            check_same_thread=False,
            isolation_level=None,
        )
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run one API operation alone and atomically: commit on success, roll back on error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (a file database is checkpointed by SQLite)."""
        with self._lock:
            self._db.close()

    def wipe(self) -> None:
        """Delete every group and member of every namespace."""
        with self.transaction():
            self._db.execute("DELETE FROM members")
            self._db.execute("DELETE FROM groups")

    def find(self, namespace: str, group_id: str) -> StoredGroup | None:
        """The group with this id in this namespace, or None."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM groups WHERE id = ? AND namespace = ?",  # noqa: S608
            (group_id, namespace),
        ).fetchone()
        return None if row is None else _stored(row)

    def existing_ids(self, namespace: str, group_ids: Iterable[str]) -> set[str]:
        """The subset of `group_ids` that exist in this namespace."""
        wanted = list(group_ids)
        marks = ",".join("?" * len(wanted))
        rows = self._db.execute(
            f"SELECT id FROM groups WHERE namespace = ? AND id IN ({marks})",  # noqa: S608
            (namespace, *wanted),
        )
        return {group_id for (group_id,) in rows}

    def count(self, namespace: str) -> int:
        """Number of groups in the namespace."""
        (total,) = self._db.execute(
            "SELECT count(*) FROM groups WHERE namespace = ?", (namespace,)
        ).fetchone()
        return int(total)

    def page(self, namespace: str, offset: int, limit: int) -> list[Group]:
        """Groups newest first (creation order, so ties in created_at stay deterministic)."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM groups WHERE namespace = ? "  # noqa: S608
            "ORDER BY pk DESC LIMIT ? OFFSET ?",
            (namespace, limit, offset),
        )
        return [_stored(row).group for row in rows]

    def referencing(self, namespace: str, child_id: str) -> list[StoredGroup]:
        """Groups of the namespace that list `child_id` among their child groups."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM groups WHERE namespace = ? "  # noqa: S608
            "AND child_groups LIKE ?",
            (namespace, f'%"{child_id}"%'),
        )
        stored = [_stored(row) for row in rows]
        return [item for item in stored if child_id in item.group.child_groups]

    def auto_updating(self, namespace: str | None = None) -> list[StoredGroup]:
        """Groups with `auto_update` set, of one namespace or of all, oldest first."""
        where = "auto_update IS NOT NULL" + ("" if namespace is None else " AND namespace = ?")
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM groups WHERE {where} ORDER BY pk",  # noqa: S608
            () if namespace is None else (namespace,),
        )
        return [_stored(row) for row in rows]

    def insert(self, namespace: str, group: Group) -> int:
        """Store a new group (its fields, not its members); return its storage key."""
        cursor = self._db.execute(
            "INSERT INTO groups (namespace, id, name, size, created_ms, modified_ms,"
            " child_groups, auto_update) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                namespace,
                group.id,
                group.name,
                group.size,
                to_millis(group.created_at),
                to_millis(group.modified_at),
                json.dumps(group.child_groups),
                _auto_update_json(group),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def save(self, pk: int, group: Group) -> None:
        """Overwrite the stored fields of an existing group with `group`'s."""
        self._db.execute(
            "UPDATE groups SET name = ?, size = ?, modified_ms = ?, child_groups = ?,"
            " auto_update = ? WHERE pk = ?",
            (
                group.name,
                group.size,
                to_millis(group.modified_at),
                json.dumps(group.child_groups),
                _auto_update_json(group),
                pk,
            ),
        )

    def delete(self, pk: int) -> None:
        """Remove a group and its members."""
        self._db.execute("DELETE FROM members WHERE group_pk = ?", (pk,))
        self._db.execute("DELETE FROM groups WHERE pk = ?", (pk,))

    def add_members(self, pk: int, msisdns: Iterable[str]) -> int:
        """Add numbers; return how many were new (duplicates are ignored)."""
        cursor = self._db.executemany(
            "INSERT OR IGNORE INTO members (group_pk, msisdn) VALUES (?, ?)",
            ((pk, msisdn) for msisdn in msisdns),
        )
        return cursor.rowcount

    def remove_members(self, pk: int, msisdns: Iterable[str]) -> int:
        """Remove numbers; return how many were members (unknown ones are ignored)."""
        cursor = self._db.executemany(
            "DELETE FROM members WHERE group_pk = ? AND msisdn = ?",
            ((pk, msisdn) for msisdn in msisdns),
        )
        return cursor.rowcount

    def copy_members(self, source_pk: int, target_pk: int) -> int:
        """Add every member of the source group to the target; return how many were new."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO members (group_pk, msisdn)"
            " SELECT ?, msisdn FROM members WHERE group_pk = ?",
            (target_pk, source_pk),
        )
        return cursor.rowcount

    def subtract_members(self, source_pk: int, target_pk: int) -> int:
        """Remove every member of the source group from the target; return how many went."""
        cursor = self._db.execute(
            "DELETE FROM members WHERE group_pk = ?"
            " AND msisdn IN (SELECT msisdn FROM members WHERE group_pk = ?)",
            (target_pk, source_pk),
        )
        return cursor.rowcount

    def clear_members(self, pk: int) -> None:
        """Empty a group."""
        self._db.execute("DELETE FROM members WHERE group_pk = ?", (pk,))

    def members_json(self, pk: int) -> str:
        """All members of a group as a JSON array of digit strings, in ascending order.

        SQLite builds the array itself: a million members cost no Python object each, which keeps
        the emulator from being the slow side of a benchmark's membership read.
        """
        (array,) = self._db.execute(
            "SELECT json_group_array(msisdn) FROM"
            " (SELECT msisdn FROM members WHERE group_pk = ? ORDER BY msisdn)",
            (pk,),
        ).fetchone()
        return str(array)
