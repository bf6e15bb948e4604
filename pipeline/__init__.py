"""sinch-groups: keep Sinch SMS recipient groups in step with contact files, and snapshot them.

The package is plain, typed Python with no orchestration in it: `flows/` wraps it in Prefect
flows and the `sinch-groups` command runs those. Stages are modules: `sources` (load),
`phones` (normalize), `plan` (diff against live membership), `apply` (batched updates),
`report` (counts that add up), `snapshots` (export); `sinch` is the API client and
`emulator` a local Sinch-compatible server.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sinch-groups")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
