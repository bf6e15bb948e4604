"""EmulatorConfig, Faults, and loading them from TOML / JSON files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sinch_emulator import (
    DEFAULT_PROJECT,
    ConfigError,
    EmulatorConfig,
    Faults,
    Plan,
    ProjectKey,
    load_config_file,
    load_refuse_numbers,
)

TOML = """
db_path = "state/emulator.sqlite3"
token_ttl = 120
[[plans]]
id = "plan-a"
token = "token-a"
[[plans]]
id = "plan-b"
token = "token-b"
[[projects]]
project_id = "proj"
key_id = "kid"
key_secret = "ksecret"
[faults]
latency_ms = 20
rate_limit = 5
error_rate = 0.1
reset_rate = 0.05
seed = 42
refuse_numbers = ["+44 7700 900123"]
refuse_numbers_file = "refused.txt"
"""


def test_faults_keep_refused_numbers_digits_only() -> None:
    faults = Faults(refuse_numbers=frozenset({"+44 7700 900123", "0012018881111"}))

    assert faults.refuse_numbers == {"447700900123", "12018881111"}


@pytest.mark.parametrize(
    "options",
    [
        {"latency_ms": -1},
        {"rate_limit": 0},
        {"rate_limit": float("inf")},
        {"error_rate": 1.5},
        {"reset_rate": -0.1},
        {"refuse_numbers": frozenset({"not a number"})},
    ],
)
def test_faults_reject_impossible_values(options: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Faults(**options)  # type: ignore[arg-type]


def test_faults_round_trip_through_a_mapping() -> None:
    faults = Faults(
        latency_ms=3,
        rate_limit=2.5,
        error_rate=0.2,
        reset_rate=0.1,
        refuse_numbers=frozenset({"12018881111"}),
        seed=4,
    )

    assert Faults.from_mapping(faults.to_dict()) == faults


@pytest.mark.parametrize(
    "data",
    [
        {"seed": 1.5},
        {"error_rate": True},
        {"refuse_numbers": "1"},
        {"refuse_numbers": [1]},
        {"typo": 1},
    ],
)
def test_faults_from_mapping_checks_types_and_keys(data: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Faults.from_mapping(data)


def test_config_needs_unique_ids_and_some_namespace() -> None:
    with pytest.raises(ConfigError, match="unique"):
        EmulatorConfig(
            plans=[Plan(id="same", token="t")],
            projects=[ProjectKey(project_id="same", key_id="k", key_secret="s")],
        )
    with pytest.raises(ConfigError, match="at least one"):
        EmulatorConfig(plans=[], projects=[])
    with pytest.raises(ConfigError):
        EmulatorConfig(token_ttl=0)
    with pytest.raises(ConfigError):
        Plan(id="a/b", token="t")


def test_load_refuse_numbers_accepts_any_format(tmp_path: Path) -> None:
    path = tmp_path / "refused.txt"
    path.write_text("# refused\n+12018881111\n\n  0044 7700 900123 \n1 (201) 888-2222\n")

    assert load_refuse_numbers(path) == {"12018881111", "447700900123", "12018882222"}


def test_load_refuse_numbers_names_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "refused.txt"
    path.write_text("+12018881111\nnot-a-number\n")

    with pytest.raises(ConfigError, match=r"refused\.txt.*'not-a-number'"):
        load_refuse_numbers(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_refuse_numbers(tmp_path / "absent.txt")


def test_load_toml_config(tmp_path: Path) -> None:
    (tmp_path / "refused.txt").write_text("+12018881111\n")
    path = tmp_path / "emulator.toml"
    path.write_text(TOML)

    config = load_config_file(path)

    assert config.plans == (Plan(id="plan-a", token="token-a"), Plan(id="plan-b", token="token-b"))
    assert config.projects == (ProjectKey(project_id="proj", key_id="kid", key_secret="ksecret"),)
    assert config.db_path == tmp_path / "state" / "emulator.sqlite3"
    assert config.token_ttl == 120
    assert config.faults == Faults(
        latency_ms=20,
        rate_limit=5,
        error_rate=0.1,
        reset_rate=0.05,
        seed=42,
        refuse_numbers=frozenset({"447700900123", "12018881111"}),
    )


def test_load_json_config_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "emulator.json"
    path.write_text(json.dumps({"plans": [{"id": "p", "token": "t"}]}))

    config = load_config_file(path)

    assert config.plans == (Plan(id="p", token="t"),)
    assert config.projects == (DEFAULT_PROJECT,)
    assert config.db_path is None
    assert config.faults == Faults()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.toml", "plans = 1", "list"),
        ("c.toml", "[[plans]]\nid = 'p'", "lacks: token"),
        ("c.toml", "[[plans]]\nid = 'p'\ntoken = 3", "plans.token"),
        ("c.toml", "colour = 'blue'", "unknown key"),
        ("c.toml", "[faults]\nerror_rate = 3", "error_rate"),
        ("c.toml", "not toml at all", "not valid TOML"),
        ("c.json", "[1, 2]", "JSON object"),
        ("c.json", "{", "not valid JSON"),
        ("c.yaml", "plans: []", ".toml or .json"),
    ],
)
def test_bad_config_files_say_what_is_wrong(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)

    with pytest.raises(ConfigError, match=message):
        load_config_file(path)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config_file(tmp_path / "absent.toml")
