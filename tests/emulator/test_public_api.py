"""The package's public surface, and the import boundary the architecture requires."""

from __future__ import annotations

import ast
from pathlib import Path

import sinch_emulator as emulator

PACKAGE = Path(emulator.__file__).parent


def test_all_is_pinned_and_sorted() -> None:
    assert emulator.__all__ == [
        "DEFAULT_PLAN_ID",
        "DEFAULT_PROJECT",
        "DEFAULT_TOKEN",
        "ConfigError",
        "EmulatorConfig",
        "EmulatorServer",
        "Faults",
        "Plan",
        "ProjectKey",
        "create_app",
        "load_config_file",
        "load_refuse_numbers",
        "send_inbound",
        "serve",
    ]
    assert emulator.__all__ == sorted(emulator.__all__, key=_isort_style)
    assert all(hasattr(emulator, name) for name in emulator.__all__)


def _isort_style(name: str) -> tuple[int, str]:
    """Constants, then classes, then functions, each alphabetical (ruff's RUF022 order)."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add("." * node.level + (node.module or ""))
    return modules


def test_emulator_imports_nothing_from_the_rest_of_pipeline_nor_prefect() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) >= 10

    for path in files:
        for module in _imported_modules(path):
            assert not module.startswith(".."), f"{path.name} reaches outside: {module}"
            assert module.split(".")[0] not in {"prefect", "flows", "tests"}, path.name
            if module.startswith("pipeline"):
                assert module.startswith("sinch_emulator"), f"{path.name} imports {module}"


def test_models_have_no_http_in_them() -> None:
    for name in ("models.py", "store.py", "msisdn.py", "entities.py", "keywords.py"):
        imported = _imported_modules(PACKAGE / name)
        assert not {
            module
            for module in imported
            if module.split(".")[0] in {"starlette", "uvicorn", "httpx"}
        }, name
