"""Property tests over the two places that read untrusted text: the CSV loader and normalization.

Whatever bytes a file holds, loading gives the raw contacts frame or a `PipelineError` (which the
CLI prints as one line); whatever a cell holds, normalization accounts for the row exactly once
and only ever emits a number phonenumbers itself calls valid, so no input can add a member that
was not asked for.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import phonenumbers
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import PipelineError
from pipeline.load import RAW_SCHEMA, load_contacts
from pipeline.phones import normalize
from pipeline.phones.rejects import Reason

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NORMALIZE = settings(FAST, max_examples=50)
"""One `normalize` call costs tens of milliseconds whatever its size: fewer, larger examples."""

phone_like = st.one_of(
    st.from_regex(r"(\+|00|0)?[0-9][0-9 ().\-/]{5,16}", fullmatch=True),
    st.builds(
        lambda prefix, body, suffix: prefix + body + suffix,
        st.sampled_from(["", "+", "+44", "0044", "tel:", "=", "\u200f", "\x00", "'"]),
        st.text("0123456789 -٤४４𝟒.", max_size=16),
        st.sampled_from(["", " ext 12", ".0", "E+11", "\x1b[0m", "\u200e", "#"]),
    ),
    st.text(max_size=40),
)
cells = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)


def raw_frame(values: list[str | None], regions: list[str | None]) -> pl.DataFrame:
    count = len(values)
    return pl.DataFrame(
        {
            "source_file": ["fuzz.csv"] * count,
            "source_line": list(range(2, count + 2)),
            "phone_raw": values,
            "region_raw": regions,
            "group": ["g"] * count,
        },
        schema=RAW_SCHEMA,
    )


@NORMALIZE
@given(
    rows=st.lists(
        st.tuples(
            st.one_of(st.none(), phone_like),
            st.sampled_from([None, "GB", "US", "de", "IN", "XX", "", "ZZZ"]),
        ),
        min_size=1,
        max_size=60,
    ),
    default_region=st.sampled_from([None, "GB", "US", "BR"]),
    mobile_only=st.booleans(),
)
def test_normalize_accounts_for_every_row_and_only_emits_valid_numbers(
    rows: list[tuple[str | None, str | None]], default_region: str | None, mobile_only: bool
) -> None:
    values = [value for value, _ in rows]
    frame = raw_frame(values, [region for _, region in rows])

    result = normalize(frame, default_region=default_region, mobile_only=mobile_only)

    lines = sorted(result.valid["source_line"].to_list() + result.rejects["source_line"].to_list())
    assert lines == list(range(2, len(rows) + 2)), "every row is valid or rejected, once"
    for line, raw, e164 in result.valid.select("source_line", "phone_raw", "phone_e164").rows():
        assert raw == values[line - 2]
        assert E164.fullmatch(e164), e164
        assert phonenumbers.is_valid_number(phonenumbers.parse(e164)), (raw, e164)
    reasons = {reason.value for reason in Reason}
    for line, raw, reason, detail in result.rejects.select(
        "source_line", "raw_value", "reason", "detail"
    ).rows():
        assert raw == values[line - 2]
        assert reason in reasons
        assert detail


def load_bytes(data: bytes, name: str = "fuzz.csv") -> pl.DataFrame | PipelineError:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            return load_contacts(path).frame
        except PipelineError as error:
            return error


@FAST
@given(
    data=st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda head, body: head + body,
            st.sampled_from([b"phone\n", b"phone,name\n", b"\xef\xbb\xbfMobile;x\r\n", b"PAR1"]),
            st.binary(max_size=300),
        ),
        st.lists(st.text(",;\t|\"'\n\r 0123456789+ab\x00é", max_size=12), max_size=12).map(
            lambda parts: ("phone,name\n" + "\n".join(parts)).encode()
        ),
    ),
    name=st.sampled_from(["fuzz.csv", "fuzz.parquet", "fuzz.txt"]),
)
def test_any_bytes_load_as_contacts_or_give_a_pipeline_error(data: bytes, name: str) -> None:
    loaded = load_bytes(data, name)

    if isinstance(loaded, PipelineError):
        assert str(loaded), "a PipelineError is printed as `Error: <message>`"
    else:
        assert loaded.schema == RAW_SCHEMA
        lines = loaded["source_line"].to_list()
        assert lines == sorted(set(lines)), "each row keeps its own, increasing line"
        assert all(line >= 1 for line in lines)


@FAST
@given(
    rows=st.lists(st.tuples(cells, cells), max_size=15),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    ending=st.sampled_from(["\r\n", "\n"]),
)
def test_a_csv_written_by_a_csv_writer_loads_cell_for_cell_on_its_lines(
    rows: list[tuple[str, str]], delimiter: str, ending: str
) -> None:
    """What a spreadsheet or CRM writes (quoting as needed) comes back exactly: the phone cells
    as written, each on the line where its record starts; rows with every cell empty are
    skipped, and an empty phone cell is missing (None), for an `empty` reject. (With `\\n`
    endings a bare `\\r` in a cell is written unquoted, so cells hold no `\\r` then: any reader
    would take it for a line end.)"""
    if ending == "\n":
        rows = [(phone.replace("\r", ""), name.replace("\r", "")) for phone, name in rows]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending)
    writer.writerow(["phone", "name"])
    expected, line = [], 2
    for phone, name in rows:
        writer.writerow([phone, name])
        if phone or name:
            expected.append((phone or None, line))
        line += 1 + phone.count("\n") + name.count("\n")

    loaded = load_bytes(buffer.getvalue().encode())

    assert isinstance(loaded, pl.DataFrame), loaded
    assert loaded.select("phone_raw", "source_line").rows() == expected
