"""The normalization cache: real files in a temporary directory, real loading and normalizing."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.load import load_contacts, source_files
from pipeline.phones import normalize
from pipeline.phones.cache import NormalizeCache, default_directory, entry_key

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
OPTIONS = {"country_column": "Country", "default_region": "GB", "mobile_only": False}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A CRM export of our own, so that a test may change it."""
    path = tmp_path / "crm.csv"
    shutil.copy(SAMPLES / "crm_export_messy.csv", path)
    return path


def normalized(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = load_contacts(path, country_column="Country").frame
    result = normalize(frame, default_region="GB")
    return result.valid, result.rejects


def test_an_entry_gives_back_exactly_what_normalize_gave(tmp_path: Path, export: Path) -> None:
    cache = NormalizeCache(tmp_path / "cache")
    key = entry_key([export], OPTIONS)
    valid, rejects = normalized(export)

    assert cache.get(key) is None
    cache.put(key, valid, rejects, extra={"rows": valid.height + rejects.height})
    entry = cache.get(key)

    assert entry is not None
    assert_frame_equal(entry.valid, valid)
    assert_frame_equal(entry.rejects, rejects)
    assert entry.extra == {"rows": valid.height + rejects.height}


def test_an_empty_result_round_trips(tmp_path: Path) -> None:
    cache = NormalizeCache(tmp_path)
    valid, rejects = normalized(SAMPLES / "crm_export_messy.csv")
    empty_valid, empty_rejects = valid.clear(), rejects.clear()

    cache.put("empty", empty_valid, empty_rejects)
    entry = cache.get("empty")

    assert entry is not None
    assert_frame_equal(entry.valid, empty_valid)
    assert_frame_equal(entry.rejects, empty_rejects)


def test_the_key_is_stable_for_the_same_bytes_and_options(export: Path) -> None:
    assert entry_key([export], OPTIONS) == entry_key([export], dict(reversed(OPTIONS.items())))


def test_a_changed_file_misses(tmp_path: Path, export: Path) -> None:
    cache = NormalizeCache(tmp_path / "cache")
    before = entry_key([export], OPTIONS)
    cache.put(before, *normalized(export))

    original = export.read_bytes()
    changed = original[: len(original) // 2] + original[len(original) // 2 :].replace(b"7", b"8", 1)
    assert changed != original
    export.write_bytes(changed)
    after = entry_key([export], OPTIONS)

    assert after != before
    assert cache.get(after) is None


@pytest.mark.parametrize(
    "change",
    [
        {"default_region": "US"},
        {"mobile_only": True},
        {"country_column": None},
        {"fixed_group": "VIP"},
    ],
)
def test_a_changed_option_misses(export: Path, change: dict[str, object]) -> None:
    assert entry_key([export], {**OPTIONS, **change}) != entry_key([export], OPTIONS)


def test_the_same_bytes_under_another_name_miss(tmp_path: Path, export: Path) -> None:
    """Rows carry their file's name, so the name is part of the result."""
    twin = tmp_path / "twin.csv"
    shutil.copy(export, twin)

    assert entry_key([twin], OPTIONS) != entry_key([export], OPTIONS)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"not parquet at all", id="garbage"),
        pytest.param(lambda data: b"", id="empty"),
    ],
)
def test_a_damaged_entry_is_a_miss_and_is_recomputed(
    tmp_path: Path, export: Path, damage: Callable[[bytes], bytes]
) -> None:
    cache = NormalizeCache(tmp_path / "cache")
    key = entry_key([export], OPTIONS)
    valid, rejects = normalized(export)
    path = cache.put(key, valid, rejects)
    path.write_bytes(damage(path.read_bytes()))

    assert cache.get(key) is None
    assert not path.exists()

    cache.put(key, *normalized(export))
    entry = cache.get(key)
    assert entry is not None
    assert_frame_equal(entry.valid, valid)


def test_an_entry_whose_rows_do_not_match_its_counts_is_a_miss(
    tmp_path: Path, export: Path
) -> None:
    cache = NormalizeCache(tmp_path)
    valid, rejects = normalized(export)
    path = cache.put("key", valid, rejects)
    # A file written whole, but with one row fewer than its metadata says.
    metadata = pl.read_parquet_metadata(path)
    pl.read_parquet(path).slice(1).write_parquet(
        path, metadata={"sinch_groups.cache": metadata["sinch_groups.cache"]}
    )

    assert cache.get("key") is None


def test_only_the_newest_entries_are_kept(tmp_path: Path, export: Path) -> None:
    cache = NormalizeCache(tmp_path, keep=2)
    valid, rejects = normalized(export)
    for key in ("first", "second", "third"):
        cache.put(key, valid, rejects)

    assert cache.get("first") is None
    assert cache.get("second") is not None
    assert cache.get("third") is not None


def test_the_environment_places_or_disables_the_cache(tmp_path: Path) -> None:
    assert default_directory({"SINCH_GROUPS_CACHE": str(tmp_path)}) == tmp_path
    assert default_directory({"SINCH_GROUPS_HOME": str(tmp_path)}) == tmp_path / "cache"
    assert default_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "sinch-groups"
    assert default_directory({"SINCH_GROUPS_CACHE": "off"}) is None
    assert NormalizeCache.from_env({"SINCH_GROUPS_CACHE": "0"}) is None
    cache = NormalizeCache.from_env({"SINCH_GROUPS_HOME": str(tmp_path)})
    assert cache is not None
    assert cache.directory == tmp_path / "cache"


def test_the_key_can_be_made_before_loading(tmp_path: Path, export: Path) -> None:
    """A hit needs no loading: the files a source names give the key the loaded files give."""
    shutil.copy(export, tmp_path / "crm2.csv")
    source = str(tmp_path / "crm*.csv")

    before = entry_key(source_files(source), OPTIONS)

    assert before == entry_key(load_contacts(source, country_column="Country").files, OPTIONS)
