"""How `diff` pairs the groups of two snapshots (apart, so the CLI can offer it without polars)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MatchOn"]


class MatchOn(StrEnum):
    """How groups of two snapshots are paired.

    `id` (default) follows a group through renames: right for two snapshots of one service plan.
    `name` pairs groups across plans or after a restore, where ids differ; unnamed groups are
    paired by id (names are at most 20 characters, ids 26, so the two never collide).
    """

    ID = "id"
    NAME = "name"
