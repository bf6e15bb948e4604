"""What an emulator serves: service plans, project keys, storage, faults, token lifetime.

Value objects with keyword-only constructors and module-level defaults, so
`EmulatorConfig()` alone is a working demo emulator (plan `DEFAULT_PLAN_ID` with bearer token
`DEFAULT_TOKEN`, project key `DEFAULT_PROJECT`, in-memory storage, no faults).
`load_config_file` reads the same settings from TOML or JSON, for the CLI:

```toml
db_path = "emulator.sqlite3"      # relative to this file; omit for in-memory
token_ttl = 3600                  # seconds, OAuth2 access tokens
[[plans]]
id = "sinchgroupsdemo"
token = "demo-token"
[[projects]]
project_id = "demo-project"
key_id = "demo-key"
key_secret = "demo-secret"
[faults]
latency_ms = 20
rate_limit = 50                   # requests per second per plan; omit for unlimited
error_rate = 0.01                 # probability of a 500/503
reset_rate = 0.01                 # probability of a dropped connection
seed = 7
refuse_numbers = ["+447700900123"]
refuse_numbers_file = "refused.txt"   # one number per line, any accepted format
```
A missing `plans` or `projects` key means the demo one; an empty list means none.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .constants import DEFAULT_PLAN_ID, DEFAULT_TOKEN, DEFAULT_TOKEN_TTL
from .exceptions import InvalidMsisdnError
from .msisdn import normalize_msisdn


class ConfigError(ValueError):
    """A configuration value or file that cannot be used; the message says which and why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A service plan: its id (the path segment) and the bearer token that unlocks it."""

    id: str
    token: str

    def __post_init__(self) -> None:
        if not self.id or "/" in self.id or not self.token:
            raise ConfigError(f"a plan needs an id without '/' and a token, got id={self.id!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectKey:
    """A project access key: OAuth2 client credentials that unlock `/xms/v1/{project_id}`."""

    project_id: str
    key_id: str
    key_secret: str

    def __post_init__(self) -> None:
        if not self.project_id or "/" in self.project_id or not self.key_id or not self.key_secret:
            raise ConfigError(
                f"a project key needs a project_id without '/', a key_id and a key_secret,"
                f" got project_id={self.project_id!r}"
            )


DEFAULT_PROJECT = ProjectKey(
    project_id="demo-project",
    key_id="demo-key",
    key_secret="demo-secret",  # noqa: S106 - the documented demo credential, not a secret
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """Misbehaviour to rehearse against, reproducible from `seed`.

    `refuse_numbers` may be given in any accepted MSISDN format; it is kept digits-only.
    """

    latency_ms: float = 0
    rate_limit: float | None = None
    error_rate: float = 0.0
    reset_rate: float = 0.0
    refuse_numbers: frozenset[str] = frozenset()
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latency_ms) and self.latency_ms >= 0):
            raise ConfigError(f"latency_ms must be 0 or more, got {self.latency_ms}")
        if self.rate_limit is not None and not (
            math.isfinite(self.rate_limit) and self.rate_limit > 0
        ):
            raise ConfigError(f"rate_limit must be more than 0 (or None), got {self.rate_limit}")
        for name in ("error_rate", "reset_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be 0 to 1, got {getattr(self, name)}")
        object.__setattr__(self, "refuse_numbers", _digits_only(self.refuse_numbers))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Faults:
        """Faults from a JSON/TOML table; absent keys take their defaults, unknown keys fail."""
        _reject_unknown(data, _FAULT_TYPES, "faults")
        for key, value in data.items():
            _check_type(f"faults.{key}", value, _FAULT_TYPES[key])
        refused = data.get("refuse_numbers", ())
        if not all(isinstance(number, str) for number in refused):
            raise ConfigError("faults.refuse_numbers must be a list of strings")
        return cls(**{**data, "refuse_numbers": frozenset(refused)})

    def to_dict(self) -> dict[str, Any]:
        """JSON form (refuse_numbers as a sorted list), the inverse of `from_mapping`."""
        return {**asdict(self), "refuse_numbers": sorted(self.refuse_numbers)}


_FAULT_TYPES: dict[str, tuple[type, ...]] = {
    "latency_ms": (int, float),
    "rate_limit": (int, float, type(None)),
    "error_rate": (int, float),
    "reset_rate": (int, float),
    "refuse_numbers": (list,),
    "seed": (int,),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorConfig:
    """Everything `create_app` needs. Plan and project ids share one namespace of paths."""

    plans: Sequence[Plan] = (Plan(id=DEFAULT_PLAN_ID, token=DEFAULT_TOKEN),)
    projects: Sequence[ProjectKey] = (DEFAULT_PROJECT,)
    db_path: Path | None = None
    faults: Faults = field(default_factory=Faults)
    token_ttl: int = DEFAULT_TOKEN_TTL

    def __post_init__(self) -> None:
        object.__setattr__(self, "plans", tuple(self.plans))
        object.__setattr__(self, "projects", tuple(self.projects))
        if self.db_path is not None:
            object.__setattr__(self, "db_path", Path(self.db_path))
        ids = [plan.id for plan in self.plans] + [project.project_id for project in self.projects]
        if not ids:
            raise ConfigError("configure at least one service plan or project")
        if len(set(ids)) != len(ids):
            raise ConfigError(f"plan and project ids must be unique, got {ids}")
        if self.token_ttl <= 0:
            raise ConfigError(f"token_ttl must be more than 0 seconds, got {self.token_ttl}")


def load_refuse_numbers(path: str | Path) -> frozenset[str]:
    """Numbers to refuse, one per line in any accepted format; blank and `#` lines skipped."""
    lines = _read_text(Path(path)).splitlines()
    try:
        return _digits_only(
            line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")
        )
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from error


def load_config_file(path: str | Path) -> EmulatorConfig:
    """An `EmulatorConfig` from a `.toml` or `.json` file (see the module docstring).

    Relative paths inside the file (`db_path`, `faults.refuse_numbers_file`) are relative to
    the file's directory. Raises `ConfigError` naming the problem.
    """
    path = Path(path)
    data = _read_document(path)
    _reject_unknown(data, {"plans", "projects", "db_path", "faults", "token_ttl"}, str(path))
    options: dict[str, Any] = {}
    if "plans" in data:
        options["plans"] = [
            Plan(**_strings(item, {"id", "token"}, "plans"))
            for item in _list(data["plans"], "plans")
        ]
    if "projects" in data:
        keys = {"project_id", "key_id", "key_secret"}
        options["projects"] = [
            ProjectKey(**_strings(item, keys, "projects"))
            for item in _list(data["projects"], "projects")
        ]
    if "db_path" in data:
        _check_type("db_path", data["db_path"], (str,))
        options["db_path"] = path.parent / data["db_path"]
    if "token_ttl" in data:
        _check_type("token_ttl", data["token_ttl"], (int,))
        options["token_ttl"] = data["token_ttl"]
    if "faults" in data:
        options["faults"] = _faults_table(data["faults"], path.parent)
    return EmulatorConfig(**options)


def _faults_table(data: object, base: Path) -> Faults:
    table = dict(_table(data, "faults"))
    file_name = table.pop("refuse_numbers_file", None)
    faults = Faults.from_mapping(table)
    if file_name is None:
        return faults
    _check_type("faults.refuse_numbers_file", file_name, (str,))
    refused = load_refuse_numbers(base / file_name)
    return replace(faults, refuse_numbers=faults.refuse_numbers | refused)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from error


def _read_document(path: Path) -> Mapping[str, Any]:
    text = _read_text(path)
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        if path.suffix.lower() == ".json":
            data = json.loads(text)
            if isinstance(data, dict):
                return data
            raise ConfigError(f"{path} must hold a JSON object")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{path} is not valid {path.suffix[1:].upper()}: {error}") from error
    raise ConfigError(f"config file must end in .toml or .json, got {path.name}")


def _digits_only(numbers: Iterable[str]) -> frozenset[str]:
    try:
        return frozenset(normalize_msisdn(number) for number in numbers)
    except InvalidMsisdnError as error:
        raise ConfigError(f"refuse_numbers: {error.text}") from error


def _reject_unknown(data: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(unknown)}")


def _check_type(name: str, value: object, types: tuple[type, ...]) -> None:
    if isinstance(value, bool) or not isinstance(value, types):
        expected = " or ".join("null" if kind is type(None) else kind.__name__ for kind in types)
        raise ConfigError(f"{name} must be {expected}, got {value!r}")


def _list(value: object, name: str) -> list[object]:
    if not isinstance(value, list):
        raise ConfigError(f"{name} must be a list of tables")
    return value


def _table(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a table")
    return value


def _strings(value: object, keys: set[str], name: str) -> Mapping[str, str]:
    """A table with exactly `keys`, all strings (a plan or a project key)."""
    table = _table(value, f"each entry of {name}")
    _reject_unknown(table, keys, name)
    missing = sorted(keys - set(table))
    if missing:
        raise ConfigError(f"{name} entry lacks: {', '.join(missing)}")
    for key, item in table.items():
        _check_type(f"{name}.{key}", item, (str,))
    return table
