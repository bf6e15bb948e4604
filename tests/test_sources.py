"""Loading contact files: every CSV quirk of real CRM exports, Parquet typing, errors that help."""

from __future__ import annotations

import codecs
import importlib.util
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.errors import (
    MissingColumnError,
    NoPhoneColumnError,
    PipelineError,
    SourceNotFoundError,
    UnreadableSourceError,
)
from pipeline.load import RAW_SCHEMA, load_contacts, load_phone_list
from pipeline.phones.schemas import RawContacts

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def write(path: Path, text: str, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode(encoding))
    return path


def phones(path: Path | str, **columns: str) -> list[str | None]:
    return load_contacts(path, **columns).frame.get_column("phone_raw").to_list()


def test_frame_has_exactly_the_raw_columns_and_passes_the_raw_schema(tmp_path: Path) -> None:
    source = write(tmp_path / "c.csv", "name,phone,country,team\nAl,07400 123456,GB,VIP\n")

    frame = load_contacts(source, country_column="country", group_column="team").frame

    assert frame.schema == RAW_SCHEMA
    RawContacts.validate(frame)
    assert frame.row(0) == (str(source), 2, "07400 123456", "GB", "VIP")


def test_utf8_bom_does_not_leak_into_the_first_header(tmp_path: Path) -> None:
    source = write(tmp_path / "bom.csv", "phone,name\n+447400123456,Al\n", bom=True)

    result = load_contacts(source)

    assert result.phone_column == "phone"
    assert result.encodings == {str(source): "utf-8-sig"}
    assert phones(source) == ["+447400123456"]


@pytest.mark.parametrize(
    "delimiter", [",", ";", "\t", "|"], ids=["comma", "semicolon", "tab", "pipe"]
)
def test_delimiter_is_sniffed_from_the_header_line(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["name", "phone", "city"]) + "\n"
    text += delimiter.join(["Al", "07400 123456", "Bath"]) + "\n"
    source = write(tmp_path / "d.csv", text)

    assert load_contacts(source).sources[0].delimiter == delimiter
    assert phones(source) == ["07400 123456"]


def test_delimiters_inside_quoted_header_names_do_not_count(tmp_path: Path) -> None:
    source = write(tmp_path / "q.csv", '"last; first; middle",phone\n"Hart; Al; B",07400 123456\n')

    assert load_contacts(source).sources[0].delimiter == ","
    assert phones(source) == ["07400 123456"]


def test_quoted_fields_keep_the_delimiter_and_escaped_quotes(tmp_path: Path) -> None:
    source = write(
        tmp_path / "q.csv", 'name;phone;note\n"Smith; Jones";"07400 123456";"say ""hi"""\n'
    )

    frame = load_contacts(source, group_column="note").frame

    assert frame.row(0)[2:] == ("07400 123456", None, 'say "hi"')


def test_windows_line_endings_leave_no_carriage_returns(tmp_path: Path) -> None:
    source = write(
        tmp_path / "crlf.csv", "phone,segment\r\n07400 123456,VIP\r\n07400 123457,VIP\r\n"
    )

    frame = load_contacts(source, group_column="segment").frame

    assert frame.get_column("phone_raw").to_list() == ["07400 123456", "07400 123457"]
    assert frame.get_column("group").to_list() == ["VIP", "VIP"]


def test_latin1_file_is_decoded_and_the_fallback_is_reported(tmp_path: Path) -> None:
    source = write(tmp_path / "l.csv", "Name\tTel\nZoë Müller\t07400 123456\n", encoding="latin-1")

    result = load_contacts(source, group_column="Name")

    assert result.frame.get_column("group").to_list() == ["Zoë Müller"]
    assert result.encodings == {str(source): "cp1252"}
    assert result.notes == [f"{source}: not valid UTF-8, read as cp1252"]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1(tmp_path: Path) -> None:
    source = tmp_path / "raw.csv"
    source.write_bytes(b"phone,note\n07400 123456,\x81\n")

    assert load_contacts(source).encodings == {str(source): "latin-1"}


def test_valid_utf8_is_not_reported_as_a_fallback(tmp_path: Path) -> None:
    source = write(tmp_path / "u.csv", "phone,name\n07400 123456,Zoë\n")

    result = load_contacts(source)

    assert result.encodings == {str(source): "utf-8"}
    assert result.notes == []


def test_header_only_file_is_valid_and_empty(tmp_path: Path) -> None:
    source = write(tmp_path / "h.csv", "name,phone\n")

    result = load_contacts(source)

    assert result.rows == 0
    assert result.frame.schema == RAW_SCHEMA


def test_file_without_a_header_line_is_unreadable(tmp_path: Path) -> None:
    source = write(tmp_path / "empty.csv", "")

    with pytest.raises(UnreadableSourceError, match="empty"):
        load_contacts(source)


def test_digit_only_phone_column_is_never_read_as_integers(tmp_path: Path) -> None:
    rows = ["07400123456", "00447400123456", "447400123456", "0123"]
    source = write(
        tmp_path / "digits.csv", "id,phone\n" + "".join(f"{i},{p}\n" for i, p in enumerate(rows))
    )

    frame = load_contacts(source).frame

    assert frame.schema["phone_raw"] == pl.String
    assert frame.get_column("phone_raw").to_list() == rows


def test_source_line_follows_the_file_across_blank_lines_and_multiline_fields(
    tmp_path: Path,
) -> None:
    text = 'phone,note\n07400 100001,a\n\n07400 100002,"two\nlines"\n,\n07400 100003,c\n'
    source = write(tmp_path / "lines.csv", text)

    frame = load_contacts(source).frame

    assert frame.select("phone_raw", "source_line").rows() == [
        ("07400 100001", 2),
        ("07400 100002", 4),
        ("07400 100003", 7),
    ]


def test_header_spanning_two_lines_shifts_the_first_record(tmp_path: Path) -> None:
    source = write(tmp_path / "h2.csv", '"phone","long\nheader"\n07400 100001,x\n')

    assert load_contacts(source).frame.get_column("source_line").to_list() == [3]


def test_row_with_only_the_phone_empty_is_kept_for_its_reject(tmp_path: Path) -> None:
    source = write(tmp_path / "e.csv", "name,phone\nAl,\nBo,07400 100001\n")

    assert phones(source) == [None, "07400 100001"]


def test_one_column_list_without_header_is_read_from_line_one(tmp_path: Path) -> None:
    source = write(tmp_path / "stop.txt", "+44 7400 100001\n07400 100002\n")

    frame = load_phone_list(source)

    assert frame.select("phone_raw", "source_line").rows() == [
        ("+44 7400 100001", 1),
        ("07400 100002", 2),
    ]


def test_glob_reads_every_match_in_name_order_with_per_file_lines(tmp_path: Path) -> None:
    write(tmp_path / "b.csv", "phone\n07400 100002\n")
    write(tmp_path / "a.csv", "mobile;x\n07400 100001;1\n07400 100003;2\n")

    result = load_contacts(str(tmp_path / "*.csv"))

    assert result.files == [tmp_path / "a.csv", tmp_path / "b.csv"]
    assert result.frame.select("phone_raw", "source_line").rows() == [
        ("07400 100001", 2),
        ("07400 100003", 3),
        ("07400 100002", 2),
    ]
    assert result.phone_column == "mobile, phone"


def test_list_of_sources_mixes_paths_and_globs_without_repeats(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "phone\n07400 100001\n")
    write(tmp_path / "b.csv", "phone\n07400 100002\n")

    result = load_contacts([a, str(tmp_path / "*.csv")])

    assert result.files == [a, tmp_path / "b.csv"]


def test_missing_file_is_source_not_found(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match="no such file"):
        load_contacts(tmp_path / "nope.csv")


def test_glob_matching_nothing_is_source_not_found(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"no file matches"):
        load_contacts(str(tmp_path / "*.csv"))


def test_directory_is_refused_with_a_glob_hint(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"\*\.csv"):
        load_contacts(tmp_path)


def test_ragged_csv_is_unreadable_and_names_the_file(tmp_path: Path) -> None:
    source = write(tmp_path / "ragged.csv", "phone,name\n07400 100001,Al,extra,fields\n")

    with pytest.raises(UnreadableSourceError, match=r"ragged\.csv") as caught:
        load_contacts(source)
    assert "delimiter" in caught.value.hint


def test_a_damaged_workbook_is_refused_as_a_damaged_zip(tmp_path: Path) -> None:
    source = tmp_path / "contacts.xlsx"
    source.write_bytes(b"PK\x03\x04" + b"\x00" * 64)

    with pytest.raises(UnreadableSourceError, match="damaged zip archive"):
        load_contacts(source)


def test_corrupt_parquet_is_unreadable(tmp_path: Path) -> None:
    source = tmp_path / "broken.parquet"
    source.write_bytes(b"PAR1" + b"\x00" * 64)

    with pytest.raises(UnreadableSourceError, match=r"broken\.parquet"):
        load_contacts(source)


@pytest.mark.parametrize(
    "header",
    [
        "phone",
        "Phone",
        "PHONE_NUMBER",
        "Phone Number",
        "mobile",
        "Mobile Phone",
        "cell",
        "MSISDN",
        "tel",
        "Telephone",
        "number",
        "mobile_no",
    ],
)
def test_phone_column_is_detected_from_common_headers(tmp_path: Path, header: str) -> None:
    source = write(tmp_path / "h.csv", f"name,{header}\nAl,07400 100001\n")

    result = load_contacts(source)

    assert result.phone_column == header
    assert phones(source) == ["07400 100001"]


def test_mobile_column_is_preferred_over_a_landline_phone_column(tmp_path: Path) -> None:
    source = write(tmp_path / "both.csv", "Phone,Mobile\n020 7946 0958,07400 100001\n")

    assert load_contacts(source).phone_column == "Mobile"


def test_first_of_two_equivalent_phone_headers_wins(tmp_path: Path) -> None:
    source = write(tmp_path / "two.csv", "Mobile Phone,mobile_phone\n07400 100001,07400 100002\n")

    assert load_contacts(source).phone_column == "Mobile Phone"


def test_named_phone_column_matches_ignoring_case_and_separators(tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", "Home_Phone,Work Number\n1,07400 100001\n")

    assert phones(source, phone_column="work_number") == ["07400 100001"]


def test_no_phone_column_lists_the_columns_and_the_flag(tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", "name,email\nAl,al@example.com\n")

    with pytest.raises(NoPhoneColumnError) as caught:
        load_contacts(source)

    message = str(caught.value)
    assert "'name', 'email'" in message
    assert "--phone-column" in message
    assert caught.value.available == ("name", "email")
    assert isinstance(caught.value, PipelineError)


def test_named_phone_column_that_is_missing_is_a_no_phone_column_error(tmp_path: Path) -> None:
    source = write(tmp_path / "n.csv", "phone\n07400 100001\n")

    with pytest.raises(NoPhoneColumnError, match="'Handy'"):
        load_contacts(source, phone_column="Handy")


@pytest.mark.parametrize(
    ("option", "flag"),
    [("country_column", "--country-column"), ("group_column", "--group-column")],
)
def test_named_optional_column_that_is_missing_names_its_flag(
    tmp_path: Path, option: str, flag: str
) -> None:
    source = write(tmp_path / "n.csv", "phone\n07400 100001\n")

    with pytest.raises(MissingColumnError, match=flag):
        load_contacts(source, **{option: "Nope"})


def test_group_names_are_trimmed_and_blank_groups_are_null(tmp_path: Path) -> None:
    source = write(tmp_path / "g.csv", "phone,segment\n1,  VIP \n2,\n3,   \n")

    assert load_contacts(source, group_column="segment").frame.get_column("group").to_list() == [
        "VIP",
        None,
        None,
    ]


def test_parquet_integer_phone_column_becomes_its_exact_digits(tmp_path: Path) -> None:
    source = tmp_path / "ints.parquet"
    pl.DataFrame({"phone": [447400123456, 12015550123, 999999999999999]}).write_parquet(source)

    frame = load_contacts(source).frame

    assert frame.get_column("phone_raw").to_list() == [
        "447400123456",
        "12015550123",
        "999999999999999",
    ]
    assert frame.get_column("source_line").to_list() == [1, 2, 3]


def test_parquet_float64_phone_keeps_the_float_spelling_for_normalize(tmp_path: Path) -> None:
    source = tmp_path / "floats.parquet"
    pl.DataFrame({"phone": [447400123456.0]}).write_parquet(source)

    assert phones(source) == ["447400123456.0"]


def test_parquet_float32_phone_column_is_refused_not_guessed(tmp_path: Path) -> None:
    source = tmp_path / "f32.parquet"
    pl.DataFrame({"phone": pl.Series([447400123456.0], dtype=pl.Float32)}).write_parquet(source)

    with pytest.raises(UnreadableSourceError, match="32-bit"):
        load_contacts(source)


def test_parquet_string_columns_feed_region_and_group(tmp_path: Path) -> None:
    source = tmp_path / "s.parquet"
    pl.DataFrame({"msisdn": ["07400 100001"], "iso": ["GB"], "list": ["VIP"]}).write_parquet(source)

    result = load_contacts(source, country_column="iso", group_column="list")

    assert result.frame.row(0) == (str(source), 1, "07400 100001", "GB", "VIP")
    assert result.encodings == {}


def test_load_phone_list_reads_by_the_same_rules(tmp_path: Path) -> None:
    source = write(
        tmp_path / "optout.csv", "Mobile;opted_out\r\n07400 100001;2025-01-01\r\n", bom=True
    )

    frame = load_phone_list(source)

    assert frame.schema == RAW_SCHEMA
    assert frame.get_column("phone_raw").to_list() == ["07400 100001"]


def test_committed_samples_are_what_make_samples_writes(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None
    assert spec.loader is not None
    make_samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_samples)

    make_samples.write_samples(tmp_path)

    for fresh in tmp_path.glob("*.csv"):
        assert fresh.read_bytes() == (SAMPLES / fresh.name).read_bytes(), fresh.name
    assert_frame_equal(pl.read_parquet(SAMPLES / "contacts.parquet"), make_samples.parquet_frame())
