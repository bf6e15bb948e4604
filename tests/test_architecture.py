"""The arrows that must never exist, the public face, and what a quick command imports.

- `pipeline/` (the library) never imports Prefect or `flows/`;
- `sinch_emulator/` and `pipeline/` never import each other (the CLI and the tests wire them);
- `pipeline.__all__` is the sorted, pinned public surface, and every name in it resolves;
- `--help`, `--version` and every `COMMAND --help` import neither Prefect, pandera nor polars, and
  `groups` (which talks to Sinch) imports no Prefect.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

import pipeline
from flows.cli import app
from sinch_emulator import EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("prefect", "pandera", "polars")

PUBLIC = [
    "LoadResult",
    "LocalSteps",
    "MatchOn",
    "MigrationResult",
    "Mode",
    "NormalizeResult",
    "PipelineError",
    "Snapshot",
    "SnapshotDiff",
    "SnapshotResult",
    "SyncOptions",
    "SyncReport",
    "Target",
    "__version__",
    "diff_snapshots",
    "export_snapshot",
    "latest_snapshots",
    "list_snapshots",
    "load_contacts",
    "migrate_groups",
    "normalize",
    "open_snapshot",
    "run_migration",
    "run_sync",
    "sync_groups",
    "upgrade_snapshots",
]


def imported_roots(package: str) -> dict[str, set[str]]:
    """module path -> the top-level packages it imports (absolute imports, at any depth)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        roots: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = roots
    return found


def test_the_library_imports_neither_prefect_nor_flows_nor_the_emulator() -> None:
    offenders = {
        module: sorted(roots & {"prefect", "prefect_dask", "flows", "sinch_emulator"})
        for module, roots in imported_roots("pipeline").items()
        if roots & {"prefect", "prefect_dask", "flows", "sinch_emulator"}
    }
    assert offenders == {}


def test_the_emulator_imports_nothing_of_the_library_or_the_flows() -> None:
    offenders = {
        module: sorted(roots & {"pipeline", "flows"})
        for module, roots in imported_roots("sinch_emulator").items()
        if roots & {"pipeline", "flows"}
    }
    assert offenders == {}


def test_the_public_face_is_sorted_pinned_and_every_name_resolves() -> None:
    assert pipeline.__all__ == PUBLIC == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(pipeline, name) is not None, name
    assert pipeline.sync_groups.__module__ == "pipeline.sync.engine"
    # A public name that is also a submodule's would be shadowed by the module once imported.
    submodules = {path.stem for path in (ROOT / "pipeline").iterdir() if path.stem.isidentifier()}
    assert set(PUBLIC) & submodules == set()


def command_paths() -> list[list[str]]:
    """Every command's words: `sync`, `snapshots list`, ..."""

    def walk(command: object, prefix: list[str]) -> list[list[str]]:
        paths = []
        for name, sub in getattr(command, "commands", {}).items():
            paths.append([*prefix, name])
            paths += walk(sub, [*prefix, name])
        return paths

    return walk(typer.main.get_command(app), [])


PROBE = """
import json, sys
sys.argv = ["sinch-groups", *json.loads(sys.argv[1])]
from flows.cli import main
try:
    main()
except SystemExit:
    pass
finally:
    heavy = sorted({m.split(".")[0] for m in sys.modules} & {"prefect", "pandera", "polars"})
    print(json.dumps(heavy), file=sys.stderr)
"""


def heavy_imports(args: list[str], **env: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**__import__("os").environ, **env},
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_help_and_version_import_neither_prefect_pandera_nor_polars() -> None:
    invocations = [["--help"], ["--version"]] + [[*path, "--help"] for path in command_paths()]
    assert len(invocations) >= 10
    heavy = {" ".join(args): heavy_imports(args) for args in invocations}
    assert heavy == {" ".join(args): [] for args in invocations}


def test_groups_talks_to_sinch_without_importing_prefect(
    live_emulator: EmulatorServer, tmp_path: Path
) -> None:
    env = {
        "SINCH_SERVICE_PLAN_ID": "sinchgroupsdemo",
        "SINCH_API_TOKEN": "demo-token",
        "SINCH_BASE_URL": live_emulator.base_url,
        "PREFECT_HOME": str(tmp_path),
    }
    assert "prefect" not in heavy_imports(["groups"], **env)


@pytest.mark.parametrize("package", ["pipeline", "flows", "sinch_emulator"])
def test_no_module_is_over_400_lines(package: str) -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: lines for path, lines in sizes.items() if lines > 400} == {}
