"""Writing the rejects file: Parquet or spreadsheet-safe CSV, whole or not at all."""

from __future__ import annotations

import codecs
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.phones.rejects import REJECTS_SCHEMA, write_rejects


def sample(raw_values: list[str | None]) -> pl.DataFrame:
    count = len(raw_values)
    return pl.DataFrame(
        {
            "source_file": ["a.csv"] * count,
            "source_line": list(range(2, count + 2)),
            "raw_value": raw_values,
            "region": ["GB"] * count,
            "reason": ["not_a_number"] * count,
            "detail": ["holds characters other than digits"] * count,
        },
        schema=REJECTS_SCHEMA,
    )


def test_parquet_round_trips_exactly(tmp_path: Path) -> None:
    frame = sample(["=1+1", None, "07400 100001"])

    written = write_rejects(frame, tmp_path / "rejects.parquet")

    assert written == tmp_path / "rejects.parquet"
    assert_frame_equal(pl.read_parquet(written), frame)


@pytest.mark.parametrize(
    "dangerous",
    ['=HYPERLINK("http://x")', "+44 7400 100001", "-1", "@SUM(A1)", "\tcmd", "\rcmd"],
    ids=["equals", "plus", "minus", "at", "tab", "carriage-return"],
)
def test_csv_neutralizes_cells_a_spreadsheet_would_run(tmp_path: Path, dangerous: str) -> None:
    path = write_rejects(sample([dangerous]), tmp_path / "rejects.csv")

    read = pl.read_csv(path, infer_schema=False)

    assert read.get_column("raw_value").to_list() == ["'" + dangerous]


def test_csv_leaves_harmless_cells_and_nulls_alone(tmp_path: Path) -> None:
    path = write_rejects(sample(["07400 100001", "n=1", None]), tmp_path / "rejects.csv")

    read = pl.read_csv(path, infer_schema=False)

    assert read.get_column("raw_value").to_list() == ["07400 100001", "n=1", None]
    assert read.get_column("source_file").to_list() == ["a.csv"] * 3


def test_csv_starts_with_a_bom_so_excel_reads_utf8(tmp_path: Path) -> None:
    path = write_rejects(sample(["Zoë"]), tmp_path / "rejects.CSV")

    assert path.read_bytes().startswith(codecs.BOM_UTF8)


def test_parent_directories_are_created(tmp_path: Path) -> None:
    path = write_rejects(sample(["x"]), tmp_path / "runs" / "today" / "rejects.parquet")

    assert path.is_file()


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    write_rejects(sample(["x"]), tmp_path / "rejects.csv")

    assert [p.name for p in tmp_path.iterdir()] == ["rejects.csv"]


def test_failed_write_keeps_the_previous_file_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "rejects.parquet"
    previous = sample(["old"])
    write_rejects(previous, target)

    def half_write(self: pl.DataFrame, file: Path, **_: object) -> None:
        Path(file).write_bytes(b"PAR1 truncated")
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_write)

    with pytest.raises(OSError, match="disk full"):
        write_rejects(sample(["new"]), target)

    monkeypatch.undo()
    assert_frame_equal(pl.read_parquet(target), previous)
    assert [p.name for p in tmp_path.iterdir()] == ["rejects.parquet"]
