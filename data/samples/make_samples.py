"""Write the sample contact files in this directory; the script is their documentation.

    python data/samples/make_samples.py            # rewrite the samples next to this script
    python data/samples/make_samples.py OUT_DIR    # write them somewhere else (the tests do)

Every file imitates one way real CRM exports arrive, byte for byte (BOM, `;`, CRLF, Latin-1, tabs),
which is why the CSVs are written from bytes here rather than by a CSV library. README.md lists
what loading and normalizing each file must produce, and a test holds the code to it.

The numbers are fictitious but valid to phonenumbers. Ofcom's drama range (07700 900xxx) is
unassigned in libphonenumber's data, so phonenumbers rejects it; samples meant to be valid use
libphonenumber's example ranges (UK 07400 ...) and the regulators' fiction ranges it accepts
(AU 0491 570 xxx, SE 070-174 06 xx, US 555-01xx).
"""

from __future__ import annotations

import codecs
import sys
import unicodedata
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent


def _full_width(text: str) -> str:
    """`+44 7900` as a CJK input method types it (U+FF0B, U+FF10..U+FF19); spaces stay ASCII."""
    return text.translate({ord(ch): ord(ch) + 0xFEE0 for ch in "+0123456789"})


# ---------------------------------------------------------------------------------------------
# contacts_clean.csv: what a tidy export looks like. UTF-8, comma, LF, E.164 or international
# format; every row is valid and every number distinct.
# ---------------------------------------------------------------------------------------------
CLEAN_HEADER = ("first_name", "last_name", "email", "phone")
CLEAN_ROWS = [
    ("Alice", "Hartley", "+447400123456"),
    ("Ben", "Okafor", "+447507123456"),
    ("Chloe", "Nguyen", "+447555123456"),
    ("Daniel", "Price", "+447712345678"),
    ("Emma", "Walsh", "+447800123456"),
    ("Farah", "Iqbal", "+447900654321"),
    ("George", "Ellis", "+447888123456"),
    ("Hannah", "Brooks", "+447734123456"),
    ("Isaac", "Turner", "+447123456789"),
    ("Jade", "Foster", "+447400223344"),
    ("Kieran", "Murphy", "+353851234567"),
    ("Laura", "Schmidt", "+4915123456789"),
    ("Max", "Becker", "+491701234567"),
    ("Nina", "Wagner", "+4917698765432"),
    ("Oscar", "Dubois", "+33612345678"),
    ("Pauline", "Martin", "+33645678901"),
    ("Quentin", "Moreau", "+33698765432"),
    ("Rosa", "Lindqvist", "+46701740605"),
    ("Sven", "Eriksson", "+46701740650"),
    ("Tara", "Mitchell", "+61491570156"),
    ("Uma", "Patel", "+61491570313"),
    ("Victor", "Hughes", "+12015550123"),
    ("Wendy", "Clarke", "+14155550132"),
    ("Xavier", "Reyes", "+12125550199"),
    ("Yara", "Haddad", "+34612345678"),
    ("Zack", "Visser", "+31612345678"),
    ("Amelia", "Stone", "+44 7400 900123"),
    ("Bruno", "Costa", "+44 7400 555123"),
    ("Clara", "Jansen", "+49 176 12345678"),
    ("Dev", "Sharma", "+1 646 555 0142"),
]

# ---------------------------------------------------------------------------------------------
# crm_export_messy.csv: a European Excel export. UTF-8 with BOM, `;` delimiter, CRLF, every field
# quoted, `;` and a line break inside quoted notes, a trailing row of bare delimiters, and phone
# cells typed by hand. Load with country_column="Country", normalize with default_region="GB".
# (phone cell, country cell, note)
# ---------------------------------------------------------------------------------------------
MESSY_HEADER = ("Contact ID", "Full Name", "Mobile Phone", "Country", "Notes")
MESSY_ROWS = [
    # distinct valid numbers, one spelling each
    ("07400 123456", "GB", "national with spaces"),
    ("+44 (0)7507 123456", "GB", "trunk 0 in brackets"),
    ("0044 7555 123456", "GB", "00 exit code"),
    ("07712.345.678", "GB", "dots"),
    ("07800-123-456", "GB", "dashes"),
    ("(201) 555-0123", "US", "US national"),
    ("+1 415 555 0132", "US", "prefers SMS; no calls"),
    ("212.555.0199", "US", ""),
    ("0151 23456789", "DE", "German mobile, trunk 0"),
    ("+49 170 1234567", "DE", ""),
    ("06 12 34 56 78", "FR", "French national"),
    ("+33 6 45 67 89 01", "FR", ""),
    ("070-174 06 05", "SE", "Swedish national"),
    ("070-1740650", "SE", ""),
    ("0491 570 156", "AU", "Australian national"),
    ("+61 491 570 313", "AU", ""),
    (_full_width("+44 7900 654321"), "GB", "full-width digits from a CJK input method"),
    ("tel:+44-7888-123456", "GB", "copied from a web page"),
    ("447911123456.0", "GB", "float-cast by a spreadsheet: recoverable"),
    ("+353 85 123 4567", "", "no country, but international"),
    ("07734 123456", "", "no country: the default region applies"),
    ("+34 612 345 678", "España", "country is not ISO, number is international"),
    ("020 7946 0958", "GB", "London landline: valid unless --mobile-only"),
    ("07400 223344", "GB", "Met at expo;\r\nfollow up in May"),
    ("+44 7123 456789", "GB", "after a multi-line note: line numbers shift"),
    # the same people again, spelled differently: duplicates once normalized
    ("+447400123456", "GB", "duplicate of line 2"),
    ("0044 (0)7507 123 456", "GB", "duplicate of line 3"),
    ("+1 (201) 555-0123", "US", "duplicate of line 7"),
    ("+49 (0)151 2345 6789", "DE", "duplicate of line 10"),
    ("+33 (0)6 12 34 56 78", "FR", "duplicate of line 12"),
    # what cannot be used, one per reason
    ("", "GB", "empty cell"),
    ("n/a", "GB", "placeholder text"),
    ("555-0123", "US", "no area code"),
    ("+44 7400 1234567890", "GB", "too many digits"),
    ("+999 123 4567", "", "no such country code"),
    ("07400 123457", "XX", "unknown country, national number"),
    ("07400 12345", "GB", "a digit missing"),
    ("4.4791112345E+11", "GB", "Excel scientific notation: digits lost"),
    ("+44 20 7946 0958 ext. 204", "GB", "switchboard extension"),
]

# ---------------------------------------------------------------------------------------------
# crm_export_latin1.csv: an older Windows CRM. Latin-1 bytes, tab-delimited, LF, unquoted, a
# "Telephone" column in national formats and a Country column. Load with country_column="Country".
# ---------------------------------------------------------------------------------------------
LATIN1_HEADER = ("Name", "City", "Telephone", "Country")
LATIN1_ROWS = [
    ("Zoë Fairbanks", "Bath", "07400 100200", "GB"),
    ("Jürgen Müller", "München", "0176 98765432", "DE"),
    ("Björn Åström", "Göteborg", "070-174 06 99", "SE"),
    ("Renée Lefèvre", "Besançon", "06 98 76 54 32", "FR"),
    ("José Muñoz", "Málaga", "612 34 56 78", "ES"),
    ("Søren Kierkegård", "Århus", "+45 20 12 34 56", "DK"),
    ("Chloë Brontë", "Haworth", "07400 100201", "GB"),
    ("Fátima Gonçalves", "Coimbra", "912 345 678", "PT"),
    ("Noël Dupré", "Nîmes", "06 12 34 56 79", "FR"),
    ("Ingrid Öberg", "Malmö", "070-174 06 98", "SE"),
    ("Dörte Schäfer", "Köln", "0151 23456780", "DE"),
    ("Siobhán Ó Briain", "Dún Laoghaire", "087 123 4567", "IE"),
    ("André Gagné", "Montréal", "(514) 555-0173", "CA"),
    ("Zoë Fairbanks", "Bath", "+44 7400 100200", "GB"),
    ("Åsa Lindström", "Växjö", "070-174", "SE"),
]

# ---------------------------------------------------------------------------------------------
# multi_group.csv: one file feeding three groups through its `segment` column. Some people are in
# two groups (not duplicates), and two people appear twice in the same group in different
# spellings (duplicates). Load with group_column="segment", normalize with default_region="GB".
# ---------------------------------------------------------------------------------------------
MULTI_HEADER = ("name", "phone", "segment")
_MULTI_PEOPLE = {
    "Ava": "07400 200001",
    "Ben": "07400 200002",
    "Cal": "07400 200003",
    "Dee": "07400 200004",
    "Eli": "07400 200005",
    "Fay": "07400 200006",
    "Gus": "07400 200007",
    "Hal": "07400 200008",
    "Ivy": "07400 200009",
    "Jon": "07400 200010",
    "Kim": "07400 200011",
    "Lou": "07400 200012",
    "Mia": "07400 200013",
    "Ned": "07400 200014",
    "Ola": "07400 200015",
    "Pip": "07400 200016",
    "Quin": "07400 200017",
    "Rex": "07400 200018",
    "Sia": "07400 200019",
    "Tom": "07400 200020",
    "Una": "07400 200021",
    "Vic": "07400 200022",
    "Wes": "07400 200023",
    "Xia": "07400 200024",
    "Yan": "07400 200025",
    "Zed": "07400 200026",
}
MULTI_ROWS = [
    *((name, _MULTI_PEOPLE[name], "VIP") for name in ("Ava", "Ben", "Cal", "Dee", "Eli", "Fay")),
    *(
        (name, _MULTI_PEOPLE[name], "Newsletter")
        for name in ("Ava", "Ben", "Gus", "Hal", "Ivy", "Jon", "Kim", "Lou", "Mia", "Ned")
    ),
    *(
        (name, _MULTI_PEOPLE[name], "Newsletter")
        for name in ("Ola", "Pip", "Quin", "Rex", "Sia", "Tom", "Una", "Vic")
    ),
    *(
        (name, _MULTI_PEOPLE[name], "Beta testers")
        for name in ("Cal", "Gus", "Wes", "Xia", "Yan", "Zed", "Ola", "Pip", "Hal", "Dee")
    ),
    ("Ava", "+44 7400 200001", "VIP"),
    ("Gus", "0044 7400 200 007", "Newsletter"),
    ("Ron", "07400 2000", "Beta testers"),
    ("Sam", "", "Newsletter"),
    ("Tia", "+44 7400 200027", "  VIP  "),
]

# ---------------------------------------------------------------------------------------------
# contacts.parquet: a data-warehouse extract. Typed columns (an Int64 id), the phone as String in
# mixed spellings, a country column. Load with country_column="country".
# ---------------------------------------------------------------------------------------------
PARQUET_ROWS = [
    ("+447400123456", "GB"),
    ("07507 123456", "GB"),
    ("+44 7555 123456", "GB"),
    ("07712 345678", "GB"),
    ("+1 201-555-0123", "US"),
    ("(415) 555-0132", "US"),
    ("+49 151 23456789", "DE"),
    ("0170 1234567", "DE"),
    ("+33 6 12 34 56 78", "FR"),
    ("06 45 67 89 01", "FR"),
    ("+46 70 174 06 05", "SE"),
    ("0491 570 156", "AU"),
    ("+353 85 123 4567", "IE"),
    ("+34 612 345 678", "ES"),
    ("06 12345678", "NL"),
    ("07400 900123", "GB"),
    ("07400 555123", "GB"),
    ("+61 491 570 313", "AU"),
    ("+44 7400 123456", "GB"),
    ("0044 7507 123456", "GB"),
    ("07400", "GB"),
    ("+44 1632 960123", "GB"),
    ("not provided", "GB"),
    (None, "GB"),
    ("4.47400E+11", "GB"),
]

# ---------------------------------------------------------------------------------------------
# optout.csv: people who replied STOP, as a suppression list. Mixed spellings; the first five are
# in contacts_clean.csv and crm_export_messy.csv spelled differently, the last one is in neither.
# ---------------------------------------------------------------------------------------------
OPTOUT_HEADER = ("phone", "opted_out_at")
OPTOUT_ROWS = [
    ("+447400123456", "2024-11-02"),
    ("07507 123 456", "2024-11-03"),
    ("0044 7555 123456", "2024-12-19"),
    ("+1 (415) 555-0132", "2025-01-07"),
    ("+49 170 1234567", "2025-02-14"),
    ("+33 6 99 88 77 66", "2025-03-01"),
]


# ---------------------------------------------------------------------------------------------
# hubspot_export.csv: HubSpot's contact export as it comes. A mostly empty `Phone Number` beside
# `Mobile Phone Number`, countries as names in `Country/Region`. Loads with no options at all:
# the mobile column and the country column are detected, and every row is valid.
# ---------------------------------------------------------------------------------------------
HUBSPOT_HEADER = (
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Country/Region",
)
HUBSPOT_ROWS = [
    ("Olivia", "Bennett", "", "+44 7400 300101", "United Kingdom"),
    ("Harry", "Collins", "+44 20 7946 0321", "07400 300102", "United Kingdom"),
    ("Amelia", "Wright", "", "07400 300103", "United Kingdom"),
    ("Lukas", "Hoffmann", "", "0151 23456701", "Germany"),
    ("Mia", "Schneider", "+49 30 1234567", "0170 1234501", "Germany"),
    ("Felix", "Braun", "", "+49 176 98765401", "Germany"),
    ("Emily", "Johnson", "(201) 555-0145", "(201) 555-0146", "United States"),
    ("Noah", "Davis", "", "415-555-0178", "United States"),
    ("Chloé", "Bernard", "", "06 12 34 56 01", "France"),
    ("Liam", "Murphy", "", "087 123 4501", "Ireland"),
    ("Daan", "de Vries", "", "06 12345601", "Netherlands"),
    ("Astrid", "Nilsson", "", "+46 70 174 06 07", ""),
]

# ---------------------------------------------------------------------------------------------
# salesforce_contacts.csv: a Salesforce contact report. `Mobile` and `Phone`, a `Mailing Country`
# typed by people (`United States`, `Deutschland`, `UK`, `England`), numbers kept as text with
# Excel's `="..."` formula, and contacts with no mobile (rejected as empty: only one column is read).
# ---------------------------------------------------------------------------------------------
SALESFORCE_HEADER = ("First Name", "Last Name", "Mobile", "Phone", "Mailing Country")
SALESFORCE_ROWS = [
    ("James", "Smith", "(201) 555-0161", "(201) 555-0100", "United States"),
    ("Mary", "Jones", '="+14155550163"', "", "United States"),
    ("Robert", "Taylor", "", "(415) 555-0164", "United States"),
    ("Anna", "Müller", "0151 23456702", "", "Deutschland"),
    ("Jonas", "Weber", '="0176 98765402"', "", "Deutschland"),
    ("Lea", "Fischer", "+49 151 23456703", "", "Germany"),
    ("Oliver", "Brown", '="+447400300201"', "", "United Kingdom"),
    ("George", "Wilson", "07400 300202", "020 7946 0322", "UK"),
    ("Isla", "Evans", "", "020 7946 0323", "England"),
    ("Camille", "Laurent", "06 12 34 56 02", "", "France"),
    ("Lucía", "García", "612 345 602", "", "España"),
    ("Ryan", "O'Brien", "087 123 4502", "", "Ireland"),
    ("Chris", "Lee", "(514) 555-0174", "", "Canada"),
    ("Emma", "Johansson", "070-174 06 06", "", "Sweden"),
]


_MESSY_NAMES = [
    "Hartley, Alice",
    "Okafor, Ben",
    "Nguyen, Chloe",
    "Price, Daniel",
    "Walsh, Emma",
    "Kowalski, Adam",
    "Romero, Lucia",
    "Baker, Sam",
    "Fischer, Lena",
    "Weber, Jonas",
    "Laurent, Camille",
    "Petit, Hugo",
    "Berg, Elsa",
    "Holm, Nils",
    "Kelly, Mia",
    "Ryan, Jack",
    "Tanaka, Yui",
    "Ellis, George",
    "Le Page, Tom",
    "Byrne, Aoife",
    "Brooks, Hannah",
    "García, Pablo",
    "Ahmed, Zara",
    "Foster, Jade",
    "Turner, Isaac",
]


def write_samples(out: Path) -> None:
    """Write every sample file into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    clean = [(f, last, _email(f, last), phone) for f, last, phone in CLEAN_ROWS]
    _write_csv(out / "contacts_clean.csv", CLEAN_HEADER, clean)
    messy = [
        (f"C-{1001 + i}", _MESSY_NAMES[i % len(_MESSY_NAMES)], phone, country, note)
        for i, (phone, country, note) in enumerate(MESSY_ROWS)
    ]
    _write_csv(
        out / "crm_export_messy.csv",
        MESSY_HEADER,
        messy,
        delimiter=";",
        quote_all=True,
        newline="\r\n",
        bom=True,
        trailer=";;;;\r\n",  # Excel's habit: a last row of bare delimiters
    )
    _write_csv(
        out / "crm_export_latin1.csv",
        LATIN1_HEADER,
        LATIN1_ROWS,
        delimiter="\t",
        encoding="latin-1",
    )
    _write_csv(out / "multi_group.csv", MULTI_HEADER, MULTI_ROWS)
    _write_csv(out / "optout.csv", OPTOUT_HEADER, OPTOUT_ROWS)
    parquet_frame().write_parquet(out / "contacts.parquet")
    hubspot = [
        (str(1001 + i), f, last, _email(f, last), *rest)
        for i, (f, last, *rest) in enumerate(HUBSPOT_ROWS)
    ]
    _write_csv(out / "hubspot_export.csv", HUBSPOT_HEADER, hubspot)
    _write_csv(out / "salesforce_contacts.csv", SALESFORCE_HEADER, SALESFORCE_ROWS)


def _email(first: str, last: str) -> str:
    """`chloe.bernard@example.com` for Chloé Bernard, as CRMs are usually fed."""
    name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore").decode()
    return f"{name}@example.com".lower().replace(" ", "")


def parquet_frame() -> pl.DataFrame:
    """The content of contacts.parquet (a test compares the committed file with it)."""
    return pl.DataFrame(
        {
            "contact_id": list(range(5001, 5001 + len(PARQUET_ROWS))),
            "name": [f"Contact {i}" for i in range(1, len(PARQUET_ROWS) + 1)],
            "phone": [phone for phone, _ in PARQUET_ROWS],
            "country": [country for _, country in PARQUET_ROWS],
        },
        schema={
            "contact_id": pl.Int64,
            "name": pl.String,
            "phone": pl.String,
            "country": pl.String,
        },
    )


def _write_csv(
    path: Path,
    header: tuple[str, ...],
    rows: list[tuple[str | None, ...]],
    *,
    delimiter: str = ",",
    quote_all: bool = False,
    newline: str = "\n",
    encoding: str = "utf-8",
    bom: bool = False,
    trailer: str = "",
) -> None:
    """Write the exact bytes an exporter would; line breaks inside fields are kept as given."""
    lines = [_csv_line(fields, delimiter, quote_all) for fields in (header, *rows)]
    text = "".join(line + newline for line in lines) + trailer
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode(encoding))


def _csv_line(fields: tuple[str | None, ...], delimiter: str, quote_all: bool) -> str:
    def field(value: str | None) -> str:
        text = value or ""
        if quote_all or any(ch in text for ch in (delimiter, '"', "\n", "\r")):
            return '"' + text.replace('"', '""') + '"'
        return text

    return delimiter.join(field(value) for value in fields)


if __name__ == "__main__":
    write_samples(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
