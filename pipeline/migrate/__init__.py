"""Migrate groups to another service plan or region, from a live plan or from a snapshot.

Every source group is recreated on the destination: name, members, auto-update, and child groups
with their ids translated. Creating a group needs its child groups to exist, so groups go
children first (`dependency_order`). Members go in batches of 10,000, the API's limit: the create
carries the first batch, updates add the rest.

Re-runs are safe, which is what makes a migration resumable:

- The mapping file (source id -> destination id, Parquet) is rewritten after every change, and
  records a group as incomplete between its create and its last batch.
- The destination is checked as well as the mapping: a mapped group that is complete and still
  exists is skipped; one that is incomplete is finished (adds are idempotent); one that was
  deleted is created again.
- A destination group with the same name as an unmapped source group may be the product of a
  run whose mapping was lost, or a group someone made by hand. It is not touched unless
  `adopt_existing` is set, in which case it is mapped and the source members are added to it
  (nothing is removed, and its own name, children and auto-update are kept); otherwise the
  source group is skipped with a warning. Same-named groups are paired oldest first.
- Groups without a name are migrated too; only the mapping can recognise them on a re-run.

The mapping file is tied to one pair of accounts (service plan or project ids): using it for
another pair is refused rather than silently creating duplicates.

The modules, each importing only those before it: `source` (a live plan or a snapshot),
`mapping` (the mapping file), `plan` (what to do with each group), `group` (doing it for one
group), `run` (the whole migration and its result).
"""

from __future__ import annotations

from pipeline.migrate.group import GroupOutcome, migrate_group
from pipeline.migrate.mapping import (
    MappingEntry,
    MappingFile,
    MigrationError,
    default_mapping_path,
)
from pipeline.migrate.plan import (
    Action,
    MigrationStep,
    check_distinct,
    dependency_order,
    plan_migration,
    plan_steps,
    require_one_source,
)
from pipeline.migrate.run import MigrationResult, migrate_groups, run_migration
from pipeline.migrate.source import GroupSource, LiveSource, SnapshotSource, SourceGroup

__all__ = [
    "Action",
    "GroupOutcome",
    "GroupSource",
    "LiveSource",
    "MappingEntry",
    "MappingFile",
    "MigrationError",
    "MigrationResult",
    "MigrationStep",
    "SnapshotSource",
    "SourceGroup",
    "check_distinct",
    "default_mapping_path",
    "dependency_order",
    "migrate_group",
    "migrate_groups",
    "plan_migration",
    "plan_steps",
    "require_one_source",
    "run_migration",
]
