"""Benchmark: the project's normalization against per-row baselines a user could write, same file.

    .venv/bin/python bench/normalize.py                       # 1,000,000 rows, about 2.5 minutes
    .venv/bin/python bench/normalize.py --rows 100000 --json normalize.json
    .venv/bin/python bench/normalize.py --sides project,rphonenumbers-pool --repeat 1

The file is `make_contacts.py`'s CRM export (generated once into bench/.data and reused). Each side
runs in a fresh interpreter of its own, so that its timings and its peak memory (`ru_maxrss`) are
its own, and each starts from the file:

- `project`: `sources.load_contacts` then `phones.normalize` (what `sinch-groups sync` runs);
- `phonenumbers`: what a user writes first: `pl.read_csv`, then `map_elements` over every row
  calling `phonenumbers.parse` (with the row's country, else the default region),
  `is_valid_number` and `format_number(E164)`;
- `rphonenumbers`: the same, with `import rphonenumbers as phonenumbers` (the same API on the Rust
  rlibphonenumber crate);
- `phonenumbers-pool`, `rphonenumbers-pool`: the same `map_elements` spread over every core: a
  `ProcessPoolExecutor` of `os.cpu_count()` workers, each given one contiguous slice of the rows,
  the results concatenated in order. The pool's processes are spawned (polars' advice: a forked
  child inherits polars' thread pool in whatever state it was), and the timing runs from starting
  the pool to the concatenated result, the workers' start and shutdown included. Their CPU time is
  the parent's plus the workers' (`RUSAGE_CHILDREN`); their peak RSS is the parent's, and the
  largest worker's is printed beside it.

`--sides` picks some of them (default: all). The headline ratio is the project's normalization
against the fastest baseline's (wall clock; target 2x), and the project's rows per second against
1,000,000; reading the file is timed apart, and the file-to-result ratio is printed too. Each side
runs `--repeat` times, alternating, and each side's fastest run counts (all runs are printed).

Then the answers are compared row by row, with phonenumbers as the reference (`phonenumbers`, else
`phonenumbers-pool`). A pool must give the same answer as its library run row by row (any
difference fails the script). rphonenumbers' differences from phonenumbers (its metadata release
is not always phonenumbers') are counted and examples printed; they do not fail the script.

The project's answer must be the same E.164 number for every row both accept, and the same
accept/reject decision for every row. Where the decisions differ, the row must be one of the cases
the project decides on purpose, and each is checked against phonenumbers itself:

- `has_extension`: phonenumbers parses `+44 20 7946 0958 ext. 204` as a valid number with an
  extension; an SMS cannot reach an extension, so the project rejects the row;
- `excel_damaged`: `4.474001235E+11` parses (to the wrong number: the digits Excel rounded away
  are gone); the project rejects it;
- `excel_float`: Excel turned `447400123456` into `447400123456.0`; phonenumbers reads the `.0`
  as one more digit, the project drops it and reads the digits as below;
- `lost_plus`: a value without `+` that is not valid in its region but is valid read as an
  international number (digits exported without their `+`): the project takes
  `phonenumbers.parse("+" + digits)`.

For these the check recomputes the project's answer with phonenumbers alone: the digits read in
the row's region, else read after a `+`.

Any other difference is printed and fails the script (exit status 1).
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import re
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import phonenumbers
import polars as pl
from _child import peak_rss_mib, run_side
from make_contacts import COUNTRY_COLUMN, DEFAULT_REGION, PHONE_COLUMN, contacts_file

TARGET_RATIO = 2.0
"""The project's normalization against the fastest baseline's, wall clock."""
TARGET_ROWS_PER_S = 1_000_000
REFERENCE = "phonenumbers"
_DIGITS = re.compile(r"\d+")
_FLOAT_CAST = re.compile(r"(\d{6,})\.0+")


def per_row(library: ModuleType) -> Callable[[str | None, str | None], str | None]:
    """The baselines' whole per-row work, with `library` as `phonenumbers`."""
    parse, is_valid, format_number = (
        library.parse,
        library.is_valid_number,
        library.format_number,
    )
    parse_error, e164 = library.NumberParseException, library.PhoneNumberFormat.E164

    def e164_or_none(phone: str | None, country: str | None) -> str | None:
        try:
            number = parse(phone, country or DEFAULT_REGION)
        except parse_error:
            return None
        if not is_valid(number):
            return None
        return format_number(number, e164)

    return e164_or_none


e164_or_none = per_row(phonenumbers)


def map_rows(frame: pl.DataFrame, library: str) -> pl.Series:
    """`map_elements` of the per-row function over `frame`'s rows (in a pool: over one slice)."""
    function = per_row(importlib.import_module(library))
    return frame.select(
        pl.struct(PHONE_COLUMN, COUNTRY_COLUMN)
        .map_elements(
            lambda row: function(row[PHONE_COLUMN], row[COUNTRY_COLUMN]), return_dtype=pl.String
        )
        .alias("e164")
    ).to_series()


def run_baseline(path: Path, out: Path, library: str) -> dict[str, Any]:
    started = time.perf_counter()
    frame = _read(path)
    loaded = time.perf_counter()
    cpu = time.process_time()
    e164 = map_rows(frame, library)
    done = time.perf_counter()
    result = pl.DataFrame([_lines(path, frame.height), e164])
    result.write_parquet(out)
    return _figures(loaded - started, done - loaded, time.process_time() - cpu, result)


def run_pool(path: Path, out: Path, library: str) -> dict[str, Any]:
    """The same per-row work, one contiguous slice of the rows per core."""
    started = time.perf_counter()
    frame = _read(path)
    loaded = time.perf_counter()
    cpu, children = time.process_time(), _children_cpu()
    workers = os.cpu_count() or 1
    size = max(1, -(-frame.height // workers))
    slices = [frame.slice(start, size) for start in range(0, frame.height, size)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(map_rows, slices, [library] * len(slices)))
    e164 = pl.concat(parts)
    done = time.perf_counter()
    cpu_s = time.process_time() - cpu + _children_cpu() - children
    result = pl.DataFrame([_lines(path, frame.height), e164])
    result.write_parquet(out)
    figures = _figures(loaded - started, done - loaded, cpu_s, result)
    figures["workers"] = workers
    figures["worker_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return figures


def _children_cpu() -> float:
    """User and system CPU of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_project(path: Path, out: Path) -> dict[str, Any]:
    from pipeline.load import load_contacts
    from pipeline.phones import normalize

    started = time.perf_counter()
    frame = load_contacts(path, country_column=COUNTRY_COLUMN).frame
    loaded = time.perf_counter()
    cpu = time.process_time()
    normalized = normalize(frame, default_region=DEFAULT_REGION)
    done = time.perf_counter()
    rows = pl.concat(
        [
            normalized.valid.select("source_line", pl.col("phone_e164").alias("e164")),
            normalized.rejects.select("source_line", "reason"),
        ],
        how="diagonal",
    ).sort("source_line")
    rows.write_parquet(out)
    figures = _figures(loaded - started, done - loaded, time.process_time() - cpu, rows)
    figures["distinct_values"] = normalized.distinct_values
    figures["left_to_phonenumbers"] = normalized.distinct_parsed
    return figures


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


def _lines(path: Path, rows: int) -> pl.Series:
    """`source_line` as `load_contacts` numbers rows: after the header of a CSV, from 1 in Parquet."""
    first = 1 if path.suffix == ".parquet" else 2
    return pl.int_range(first, first + rows, eager=True).alias("source_line")


def _figures(load_s: float, wall_s: float, cpu_s: float, rows: pl.DataFrame) -> dict[str, Any]:
    return {
        "load_s": load_s,
        "normalize_s": wall_s,
        "normalize_cpu_s": cpu_s,
        "rows": rows.height,
        "valid": rows.get_column("e164").is_not_null().sum(),
        "peak_rss_mib": peak_rss_mib(),
    }


SIDES: dict[str, Callable[[Path, Path], dict[str, Any]]] = {
    "phonenumbers": lambda path, out: run_baseline(path, out, "phonenumbers"),
    "phonenumbers-pool": lambda path, out: run_pool(path, out, "phonenumbers"),
    "rphonenumbers": lambda path, out: run_baseline(path, out, "rphonenumbers"),
    "rphonenumbers-pool": lambda path, out: run_pool(path, out, "rphonenumbers"),
    "project": run_project,
}
LABELS = {
    "phonenumbers": "read_csv + map_elements(phonenumbers)",
    "phonenumbers-pool": "read_csv + map_elements(phonenumbers), {workers} procs",
    "rphonenumbers": "read_csv + map_elements(rphonenumbers)",
    "rphonenumbers-pool": "read_csv + map_elements(rphonenumbers), {workers} procs",
    "project": "project: load_contacts + normalize",
}
BASELINES = [side for side in SIDES if side != "project"]


def fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the shortest normalization, with every run's time beside it: on a shared
    machine the fastest run is the one the other processes disturbed least, for either side."""
    best = min(runs, key=lambda run: run["normalize_s"])
    return {**best, "normalize_s_runs": [run["normalize_s"] for run in runs]}


def compare(path: Path, answers: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """Row-by-row agreement against phonenumbers' answers (the `phonenumbers` side, else its
    pool): the project's, every difference explained by a documented rule or reported; the
    pools' against their library run; rphonenumbers' differences counted."""
    reference = next((side for side in (REFERENCE, f"{REFERENCE}-pool") if side in answers), None)
    if reference is None:
        return {"reference": None}
    raw = _read(path)
    raw = raw.select(_lines(path, raw.height), PHONE_COLUMN, COUNTRY_COLUMN)
    raw = raw.join(answers[reference].rename({"e164": "baseline"}), on="source_line")
    check: dict[str, Any] = {"reference": reference, "baselines": {}}
    for side in BASELINES:
        if side == reference or side not in answers:
            continue
        serial = side.removesuffix("-pool")
        against = serial if side.endswith("-pool") and serial in answers else reference
        theirs = answers[side].rename({"e164": "theirs"})
        rows = (
            raw
            if against == reference
            else raw.drop("baseline").join(
                answers[against].rename({"e164": "baseline"}), on="source_line"
            )
        ).join(theirs, on="source_line")
        differing = rows.filter(pl.col("theirs").ne_missing(pl.col("baseline")))
        check["baselines"][side] = {
            "against": against,
            "rows_compared": rows.height,
            "differences": differing.height,
            "must_agree": against != reference or side == f"{REFERENCE}-pool",
            "examples": differing.rename({"baseline": against, "theirs": side}).head(10).to_dicts(),
        }
    if "project" in answers:
        check["project"] = _compare_project(raw.join(answers["project"], on="source_line"))
    return check


def _compare_project(rows: pl.DataFrame) -> dict[str, Any]:
    same_number = (pl.col("e164") == pl.col("baseline")).fill_null(False)
    both_reject = pl.col("e164").is_null() & pl.col("baseline").is_null()
    differing = rows.filter(~same_number & ~both_reject)
    explained: dict[str, int] = {}
    unexplained: list[dict[str, Any]] = []
    for row in differing.iter_rows(named=True):
        rule = _explanation(row)
        if rule is None:
            unexplained.append(row)
        else:
            explained[rule] = explained.get(rule, 0) + 1
    both_valid = rows.filter(pl.col("e164").is_not_null() & pl.col("baseline").is_not_null())
    return {
        "rows_compared": rows.height,
        "both_valid": both_valid.height,
        "same_e164_where_both_valid": both_valid.filter(same_number).height,
        "both_rejected": rows.filter(both_reject).height,
        "explained_differences": dict(sorted(explained.items())),
        "unexplained_differences": len(unexplained),
        "unexplained_examples": unexplained[:20],
    }


def _explanation(row: dict[str, Any]) -> str | None:
    """The documented rule behind a row where the two disagree, checked; None if there is none."""
    ours, reason, value = row["e164"], row["reason"], row[PHONE_COLUMN]
    if ours is None and reason in {"has_extension", "excel_damaged"}:
        return reason
    if value is None or value.lstrip().startswith("+"):
        return None
    # The project drops Excel's `.0`, then reads the digits in the row's region and, if that
    # finds no valid number, as an international number whose `+` was lost.
    float_cast = _FLOAT_CAST.fullmatch(value.strip())
    digits = float_cast.group(1) if float_cast else value
    region = row[COUNTRY_COLUMN] or DEFAULT_REGION
    international = "+" + "".join(_DIGITS.findall(digits)).removeprefix("00")
    expected = e164_or_none(digits, region) or e164_or_none(international, None)
    if expected != ours:
        return None
    return "excel_float" if float_cast else "lost_plus"


def _sides(value: str) -> list[str]:
    chosen = [side.strip() for side in value.split(",") if side.strip()]
    unknown = sorted(set(chosen) - set(SIDES))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown side(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SIDES)}"
        )
    return [side for side in SIDES if side in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each side, alternating; the fastest counts"
    )
    parser.add_argument(
        "--sides",
        type=_sides,
        default=list(SIDES),
        help=f"comma-separated, from: {', '.join(SIDES)} (default: all)",
    )
    parser.add_argument("--side", choices=list(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # a measured child
        print(json.dumps(SIDES[args.side](args.path, args.out)))
        return

    path = contacts_file(args.rows, args.seed, f".{args.format}")
    print(f"file: {path} ({path.stat().st_size / 2**20:.0f} MiB, {args.rows:,} rows)")
    print(f"sides: {', '.join(args.sides)}; {args.repeat} run(s) each; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-normalize-") as work:
        outs = {side: Path(work) / f"{side}.parquet" for side in args.sides}
        runs: dict[str, list[dict[str, Any]]] = {side: [] for side in args.sides}
        for _ in range(args.repeat):
            for side in args.sides:
                runs[side].append(
                    run_side(__file__, side, "--path", str(path), "--out", str(outs[side]))
                )
        figures = {side: fastest(done) for side, done in runs.items()}
        check = compare(path, {side: pl.read_parquet(out) for side, out in outs.items()})
    report = _report(args.rows, figures, check)
    print(report["text"])
    if args.json:
        args.json.write_text(
            json.dumps({k: v for k, v in report.items() if k != "text"}, indent=2, default=str)
        )
    if report["failed"]:
        raise SystemExit(1)


def _runs(side: dict[str, Any]) -> str:
    return ", ".join(f"{seconds:.2f}" for seconds in side["normalize_s_runs"])


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _report(rows: int, figures: dict[str, dict[str, Any]], check: dict[str, Any]) -> dict[str, Any]:
    header = f"{'side':48} {'load s':>7} {'normalize s':>12} {'CPU s':>7} {'rows/s':>10} {'peak RSS MiB':>13}"
    lines = [header, "-" * len(header)]
    for name, side in figures.items():
        label = LABELS[name].format(workers=side.get("workers"))
        lines.append(
            f"{label:48} {side['load_s']:7.2f} {side['normalize_s']:12.2f} "
            f"{side['normalize_cpu_s']:7.2f} {rows / side['normalize_s']:10,.0f} "
            f"{side['peak_rss_mib']:13,.0f}"
        )
    lines.append(
        "normalize s, every run: "
        + "; ".join(f"{name} {_runs(side)}" for name, side in figures.items())
    )
    for name, side in figures.items():
        if "workers" in side:
            lines.append(
                f"{name}: {side['workers']} workers, the largest's peak RSS "
                f"{side['worker_peak_rss_mib']:,.0f} MiB (the table shows the parent's)"
            )
    baselines = {name: side for name, side in figures.items() if name != "project"}
    summary: dict[str, Any] = {"rows": rows, "sides": figures, "check": check}
    ours = figures.get("project")
    if ours is not None:
        rows_per_s = rows / ours["normalize_s"]
        summary |= {"project_rows_per_s": rows_per_s, "target_rows_per_s": TARGET_ROWS_PER_S}
        if baselines:
            ratios = {
                name: side["normalize_s"] / ours["normalize_s"] for name, side in baselines.items()
            }
            best = min(baselines, key=lambda name: baselines[name]["normalize_s"])
            theirs = baselines[best]
            end_to_end = (theirs["load_s"] + theirs["normalize_s"]) / (
                ours["load_s"] + ours["normalize_s"]
            )
            lines += [
                "project's normalization speed-up (wall): "
                + ", ".join(f"{ratio:.1f}x vs {name}" for name, ratio in ratios.items()),
                f"target: >= {TARGET_RATIO:.0f}x the fastest baseline ({best}): "
                f"{ratios[best]:.2f}x, {_met(ratios[best] >= TARGET_RATIO)}; "
                f"file to result: {end_to_end:.2f}x",
            ]
            summary |= {
                "normalize_ratios": ratios,
                "fastest_baseline": best,
                "normalize_ratio": ratios[best],
                "file_to_result_ratio": end_to_end,
                "target_ratio": TARGET_RATIO,
            }
        lines += [
            f"target: >= {TARGET_ROWS_PER_S:,} rows/s: project {rows_per_s:,.0f} rows/s, "
            f"{_met(rows_per_s >= TARGET_ROWS_PER_S)}",
            f"project: {ours['valid']:,} valid of {rows:,}; {ours['distinct_values']:,} distinct "
            f"(value, region) pairs, {ours['left_to_phonenumbers']:,} of them left to phonenumbers",
        ]
    lines += [f"{name}: {side['valid']:,} valid of {rows:,}" for name, side in baselines.items()]
    failed = False
    if check["reference"] is None:
        lines.append("agreement: not checked (run phonenumbers or phonenumbers-pool for it)")
    for name, agreement in check.get("baselines", {}).items():
        verdict = ""
        if agreement["must_agree"]:
            failed |= agreement["differences"] > 0
            verdict = " (must be 0)"
        lines.append(
            f"agreement: {name} vs {agreement['against']}: {agreement['differences']:,} of "
            f"{agreement['rows_compared']:,} rows differ{verdict}"
        )
        lines += [f"    e.g. {row}" for row in agreement["examples"]]
    project = check.get("project")
    if project is not None:
        failed |= project["unexplained_differences"] > 0
        lines.append(
            f"agreement: project vs {check['reference']}: {project['same_e164_where_both_valid']:,} "
            f"of {project['both_valid']:,} rows both accept have the same E.164; "
            f"{project['both_rejected']:,} rejected by both; documented differences "
            f"{project['explained_differences']}; unexplained differences: "
            f"{project['unexplained_differences']}"
        )
        lines += [f"    UNEXPLAINED {row}" for row in project["unexplained_examples"]]
    return {**summary, "failed": failed, "text": "\n".join(lines)}


if __name__ == "__main__":
    main()
