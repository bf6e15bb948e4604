"""A file read a chunk at a time and normalized a partition at a time gives exactly what reading
and normalizing it whole gives: the rows, their lines, the report's counts and the rejects file."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tempfile
import threading
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from flows.cli import app
from pipeline.load import delimited, load_contacts
from pipeline.phones.cache import NormalizeCache
from pipeline.sync import prepare
from pipeline.sync.apply import ApiReject, ApplyResult, split_api_rejects
from pipeline.sync.normalized import Numbers, partitions
from pipeline.sync.steps import bounded_map
from sinch_emulator import EmulatorServer

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
cells = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


def loaded_in_chunks(
    path: Path, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch, phone_column: str | None = None
) -> pl.DataFrame:
    with monkeypatch.context() as patch:
        patch.setattr(delimited, "CHUNK_BYTES", chunk_bytes)
        return load_contacts(path, phone_column=phone_column).frame


def test_a_csv_read_in_small_chunks_gives_the_whole_files_rows_on_their_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tricky.csv"
    path.write_bytes(
        b'\xef\xbb\xbf"Mo\nbile",Notes\r\n+447911123456,"one\r\ntwo"\r\n\r\n,\r\n'
        b'"07911 123457","say ""hi"""\r\n07911123458,x'
    )
    whole = load_contacts(path, phone_column="Mobile").frame

    for chunk_bytes in (1, 3, 16):
        assert_frame_equal(loaded_in_chunks(path, chunk_bytes, monkeypatch, "Mobile"), whole)
    assert whole.select("phone_raw", "source_line").rows() == [
        ("+447911123456", 3),
        ("07911 123457", 7),
        ("07911123458", 8),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(cells, cells), max_size=15),
    delimiter=st.sampled_from([",", ";", "\t"]),
    ending=st.sampled_from(["\r\n", "\n"]),
    chunk_bytes=st.integers(1, 40),
)
def test_any_csv_writers_file_reads_the_same_in_chunks_of_any_size(
    rows: list[tuple[str, str]], delimiter: str, ending: str, chunk_bytes: int
) -> None:
    if ending == "\n":  # a bare `\r` is then written unquoted: any reader ends the line there
        rows = [(phone.replace("\r", ""), name.replace("\r", "")) for phone, name in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending)
    writer.writerows([("phone", "name"), *rows])
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as monkeypatch:
        path = Path(folder) / "export.csv"
        path.write_bytes(buffer.getvalue().encode())
        whole = load_contacts(path).frame
        assert_frame_equal(loaded_in_chunks(path, chunk_bytes, monkeypatch), whole)


@pytest.mark.parametrize("sizes", [[0], [3], [5, 0, 2], [1, 1, 1, 1, 1, 1, 1], [10, 10]])
@pytest.mark.parametrize("rows", [1, 3, 4, 100])
def test_partitions_of_chunks_are_the_whole_frames_slices(sizes: list[int], rows: int) -> None:
    values = iter(range(sum(sizes)))
    chunks = [pl.DataFrame({"n": [next(values) for _ in range(size)]}) for size in sizes]
    whole = pl.concat(chunks)

    parts = list(partitions(iter(chunks), rows))

    expected = list(whole.iter_slices(rows)) or [whole]
    assert [part.to_series().to_list() for part in parts] == [
        part.to_series().to_list() for part in expected
    ]


def test_numbers_gathered_in_parts_are_each_groups_distinct_numbers() -> None:
    valid = pl.DataFrame(
        {
            "group": ["a", "b", "a", "a", "b", "c"],
            "phone_e164": [
                "+447911123456",
                "+447911123456",
                "+15551230000",
                "+447911123456",
                "+33612345678",
                "+4915112345678",
            ],
        }
    )
    numbers = Numbers()
    for part in valid.iter_slices(2):
        numbers.add(part)
    from_disk = Numbers.of(valid.lazy(), rows=4)

    for gathered in (numbers, from_disk):
        by_group = gathered.by_group(["a", "b", "c", "d"])
        got = {key: sorted(f"+{digits}" for digits in part) for key, part in by_group.items()}
        assert got == {
            "a": ["+15551230000", "+447911123456"],
            "b": ["+33612345678", "+447911123456"],
            "c": ["+4915112345678"],
            "d": [],  # named by no valid row, yet planned: a mirror of nothing speaks up
        }
        assert gathered.count() == valid.unique().height


def test_a_map_runs_at_most_its_limit_at_once_takes_calls_as_slots_free_and_keeps_the_order() -> (
    None
):
    taken: list[int] = []
    running, most = 0, 0
    lock = threading.Lock()

    def calls():
        for number in range(7):
            taken.append(number)
            yield {"number": number}

    async def start(arguments: dict[str, int]) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            assert len(taken) <= arguments["number"] + 2, "a call was taken before a slot freed"
        await asyncio.sleep(0.01 * (7 - arguments["number"]))  # later ones finish first
        with lock:
            running -= 1
        return arguments["number"]

    async def run() -> list[int]:
        return [result async for result in bounded_map(calls(), start, limit=2)]

    assert asyncio.run(run()) == list(range(7))
    assert most == 2


def test_refused_numbers_take_every_row_of_theirs_out_of_the_valid_rows() -> None:
    valid = pl.LazyFrame(
        {
            "source_file": ["a.csv"] * 4,
            "source_line": [2, 3, 4, 5],
            "phone_raw": ["07911 123456", "+447911123456", "07911123457", "07911123456"],
            "region_raw": ["GB"] * 4,
            "group": ["VIP", "VIP", "VIP", "News"],
            "region": ["GB"] * 4,
            "phone_e164": ["+447911123456", "+447911123456", "+447911123457", "+447911123456"],
        }
    )
    refused = ApplyResult(key="VIP", group_id="g", api_rejects=[ApiReject("+447911123456", "no")])

    rejects, pairs = split_api_rejects(valid, [refused])

    assert rejects.select("source_line", "raw_value", "reason").rows() == [
        (2, "07911 123456", "api_rejected"),
        (3, "+447911123456", "api_rejected"),
    ]
    assert pairs == 1
    assert split_api_rejects(valid, [ApplyResult(key="VIP", group_id="g")])[0].is_empty()


def test_a_cache_entry_written_from_rows_on_disk_reads_back_as_written(tmp_path: Path) -> None:
    frame = load_contacts(SAMPLES / "crm_export_messy.csv", country_column="Country").frame
    valid, rejects = prepare.normalize_partition(frame, "GB", mobile_only=False)
    valid.write_parquet(tmp_path / "valid.parquet")
    cache = NormalizeCache(tmp_path / "cache")

    cache.put("key", pl.scan_parquet(tmp_path / "valid.parquet"), rejects, extra={"rows": 1})
    stored = cache.open("key")
    entry = cache.get("key")

    assert stored is not None
    assert entry is not None
    assert stored.valid_rows == valid.height
    assert_frame_equal(stored.valid().collect(), valid)
    assert_frame_equal(entry.valid, valid)
    assert_frame_equal(entry.rejects, rejects)


def export(folder: Path) -> Path:
    """Thousands of messy rows in three groups (some rows in none), with quoted line breaks."""
    lines = (SAMPLES / "crm_export_messy.csv").read_text(encoding="utf-8-sig").splitlines()
    records = list(csv.reader(lines[1:], delimiter=";"))
    path = folder / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Mobile Phone", "Country", "Segment", "Notes"])
        for copy in range(60):
            for number, record in enumerate(records):
                segment = ["VIP", "News", "", "Trial"][(copy + number) % 4]
                notes = f"copy {copy}\nline two" if number % 7 == 0 else record[4]
                writer.writerow([record[2], record[3], segment, notes])
    return path


def dry_run(source: Path, out: Path, *options: str) -> tuple[dict[str, object], pl.DataFrame]:
    columns = ["--group-column", "Segment", "--country-column", "Country"]
    outputs = ["--report", str(out / "report.json"), "--rejects", str(out / "rejects.parquet")]
    flags = ["--default-region", "GB", "--dry-run", "--no-cache", "--no-progress", "--json"]
    result = CliRunner().invoke(app, ["sync", str(source), *columns, *flags, *outputs, *options])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    for varying in ("started_at", "duration_s", "report_path", "rejects_path"):
        report.pop(varying)
    for group in report["groups"]:
        group.pop("read_at", None)
    return report, pl.read_parquet(out / "rejects.parquet")


def test_a_sync_in_small_chunks_and_partitions_reports_and_rejects_as_a_whole_read_does(
    sinch_env: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = export(tmp_path)
    (tmp_path / "whole").mkdir()
    (tmp_path / "parts").mkdir()
    whole = dry_run(source, tmp_path / "whole", "--partition-rows", "1000000")
    monkeypatch.setattr(delimited, "CHUNK_BYTES", 1024)
    monkeypatch.setattr(prepare, "NORMALIZE_ROWS", 97)
    parts = dry_run(source, tmp_path / "parts", "--partition-rows", "1000")

    assert parts[0] == whole[0]
    assert_frame_equal(parts[1], whole[1])
    assert whole[0]["rows_read"] > 2_000
    assert whole[0]["rejected_by_reason"]["no_group"] > 0
    assert whole[0]["duplicates"] > 0
