"""The bad-input corpus: a valid extract, broken in one way per case.

Each case is a function ``case(root) -> Expected``: it breaks the valid extract at ``root``
in exactly one way, at a place it chooses (a row number, a school), and returns the problem
lines the validator must report, pinned as exact text. The expected text is built from what
the case planted (never by running the validator).

``make_valid_extract(out)`` makes the starting extract: the synthetic generator's tiny
profile, exactly as ``reportcard synth --profile tiny --seed 7`` writes it.

Run ``python tests/bad_inputs.py OUT`` to write the whole corpus, one directory per case.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from site_builder import schema
from site_builder.extract import extract_years, find_file

# --- the valid starting extract --------------------------------------------------------


def make_valid_extract(out: Path, *, seed: int = 7) -> None:
    """Write the valid starting extract: ``reportcard synth --profile tiny --seed 7``
    (five real northeast-Missouri districts, 2021-2025, Parquet year files, CSV directory)."""
    from site_builder.synth import generate

    generate(out, seed=seed, profile="tiny")


# --- helpers for the cases ------------------------------------------------------------


def last_year(root: Path) -> int:
    return extract_years(root)[-1]


def path_of(root: Path, name: str, year: int | None = None) -> Path:
    spec = schema.FILES_BY_NAME[name]
    directory = root / ("directory" if not spec.per_year else str(year or last_year(root)))
    found = find_file(directory, name)
    assert found is not None, f"the valid extract has no {name} in {directory}"
    return found


def read(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path, infer_schema=False)
    return pl.read_parquet(path)


def write(df: pl.DataFrame, path: Path) -> None:
    if path.suffix == ".csv":
        df.write_csv(path)
    else:
        df.write_parquet(path)


def set_cell(df: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    """``df`` with the 1-based data ``row`` of ``column`` set to ``value``."""
    dtype = df.schema[column] if value is not None else df.schema[column]
    return df.with_columns(
        pl.when(pl.int_range(pl.len()) == row - 1).then(pl.lit(value, dtype=dtype))
        .otherwise(pl.col(column)).alias(column))


def directory_frames(root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    return read(path_of(root, "districts")), read(path_of(root, "schools"))


def shown(p: Path, root: Path) -> str:
    """How the validator names a file: the root as given, then the relative path."""
    return str(root / p.relative_to(root))


# --- the cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """What the validator must report for one case: every line, in order."""

    lines: tuple[str, ...]
    severity: str = "error"
    """``error``: validate_extract raises; ``warning``: it returns a report with warnings."""


Case = Callable[[Path], Expected]
CASES: dict[str, Case] = {}


def case(fn: Case) -> Case:
    CASES[fn.__name__] = fn
    return fn


@case
def missing_file(root: Path) -> Expected:
    p = path_of(root, "graduation")
    p.unlink()
    return Expected((f"{shown(p, root)}: file is missing",))


@case
def both_formats(root: Path) -> Expected:
    p = path_of(root, "assessment")
    csv = p.with_suffix(".csv")
    read(p).write_csv(csv)
    return Expected((f"{shown(csv, root)}: both assessment.parquet and assessment.csv exist; "
                     "only the .parquet would be read",))


@case
def unexpected_file(root: Path) -> Expected:
    p = root / str(last_year(root)) / "students_with_addresses.csv"
    p.write_text("student_id,address\n0000000001,12 Elm St\n")
    return Expected((f"warning: {shown(p, root)}: not part of the extract contract; it is not "
                     "read",), severity="warning")


@case
def no_year_directories(root: Path) -> Expected:
    for y in extract_years(root):
        shutil.rmtree(root / str(y))
    return Expected((f"{root}: no year directories (such as 2024/) in the extract",))


@case
def empty_file(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    p.write_bytes(b"")
    return Expected((f"{shown(p, root)}: file is empty (0 bytes)",))


@case
def header_only_csv(root: Path) -> Expected:
    p = path_of(root, "assessment")
    header = ",".join(read(p).columns)
    p.unlink()
    csv = p.with_suffix(".csv")
    csv.write_text(header + "\n")
    return Expected((f"{shown(csv, root)}: file has a header but no data rows",))


@case
def truncated_parquet(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return Expected((f"{shown(p, root)}: file is not a readable Parquet file: it does not end "
                     "with the Parquet marker (truncated or not Parquet)",))


@case
def wrong_delimiter(root: Path) -> Expected:
    p = path_of(root, "schools")
    read(p).write_csv(p, separator=";")
    header = ";".join(schema.SCHOOLS.column_names)
    return Expected((f"{shown(p, root)}: the header is a single column containing ';': the "
                     f"file is delimited by ';', not by commas (e.g. \"{header[:60]}\")",))


@case
def repeated_header(root: Path) -> Expected:
    p = path_of(root, "districts")
    lines = p.read_text().splitlines(keepends=True)
    p.write_text("".join(line.rstrip("\n") + ",x\n" if i else line.rstrip("\n") +
                         ",county_name\n" for i, line in enumerate(lines)))
    return Expected((f"{shown(p, root)}: the header names county_name more than once",))


@case
def latin1_directory(root: Path) -> Expected:
    p = path_of(root, "schools")
    df = set_cell(read(p), 3, "school_name", "École Sainte-Thérèse")
    text = df.write_csv()
    p.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index("É".encode("latin-1"))
    return Expected((f"{shown(p, root)}: row 3, column school_name: text is not valid UTF-8 "
                     f"(first invalid byte 0xC9 at byte offset {offset:,}, line 4) "
                     "(e.g. \"\ufffdcole Sainte-Th\ufffdr\ufffdse\")",))


@case
def non_utf8_names(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    df = read(p)
    df = set_cell(df, 5, "first_name", "José")
    df = set_cell(df, 9, "last_name", "Müller")
    text = df.write_csv()
    data = text.encode("utf-8").replace("José".encode(), "José".encode("latin-1")) \
        .replace("Müller".encode(), "Müller".encode("latin-1"))
    p.unlink()
    csv = p.with_suffix(".csv")
    csv.write_bytes(data)
    offset = data.index(b"Jos\xe9") + 3
    return Expected((
        f"{shown(csv, root)}: row 5, column first_name: text is not valid UTF-8 (first "
        f"invalid byte 0xE9 at byte offset {offset:,}, line 6)",
        f"{shown(csv, root)}: row 9, column last_name: text is not valid UTF-8",
    ))


@case
def byte_order_mark(root: Path) -> Expected:
    p = path_of(root, "districts")
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    return Expected((f"warning: {shown(p, root)}: file starts with a UTF-8 byte-order mark "
                     "(BOM); it was ignored",), severity="warning")


@case
def missing_column(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    write(read(p).drop("days_attended"), p)
    return Expected((f"{shown(p, root)}: missing column days_attended",))


@case
def extra_column(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    write(read(p).with_columns(pl.lit("12 Elm St").alias("home_address")), p)
    return Expected((f"{shown(p, root)}: unexpected column home_address (not in the extract "
                     "contract)",))


@case
def wrong_type_value(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    df = read(p).with_columns(pl.col("days_enrolled").cast(pl.String))
    write(set_cell(df, 17, "days_enrolled", "12a"), p)
    return Expected((f"{shown(p, root)}: row 17, column days_enrolled: value is not a whole "
                     "number (e.g. \"12a\")",))


@case
def wrong_type_bool(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    df = read(p).with_columns(pl.col("el").cast(pl.String))
    df = set_cell(set_cell(df, 4, "el", "maybe"), 6, "el", "Y")
    write(df, p)
    return Expected((f"{shown(p, root)}: row 4, column el: value is not true or false "
                     "(2 rows; e.g. \"maybe\", \"Y\")",))


@case
def code_stored_as_number(root: Path) -> Expected:
    p = path_of(root, "graduation")
    write(read(p).with_columns(pl.col("district_code").cast(pl.Int64)), p)
    return Expected((f"{shown(p, root)}: column district_code: column is stored as Int64; "
                     "expected text (codes must keep their leading zeros)",))


@case
def null_key(root: Path) -> Expected:
    p = path_of(root, "graduation")
    write(set_cell(read(p), 3, "school_code", None), p)
    return Expected((f"{shown(p, root)}: row 3, column school_code: key value is missing",))


@case
def null_value(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    df = set_cell(set_cell(read(p), 17, "sex", None), 20, "sex", None)
    write(df, p)
    return Expected((f"{shown(p, root)}: row 17, column sex: value is missing (2 rows; "
                     "e.g. row 17, row 20)",))


@case
def duplicate_student_year(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    df = read(p)
    write(pl.concat([df, df.slice(16, 1)]), p)
    n = df.height + 1
    return Expected((f"{shown(p, root)}: row 17: duplicate (year, student_id): each must appear "
                     f"only once (2 rows; e.g. rows 17, {n})",))


@case
def duplicate_school(root: Path) -> Expected:
    p = path_of(root, "schools")
    df = read(p)
    write(pl.concat([df, df.slice(1, 1)]), p)
    d, s = df["district_code"][1], df["school_code"][1]
    return Expected((f"{shown(p, root)}: row 2: duplicate (district_code, school_code): each "
                     f"must appear only once (2 rows; e.g. {d}/{s} on rows 2, {df.height + 1})",))


@case
def bad_race_code(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    write(set_cell(set_cell(read(p), 17, "race", "XX"), 30, "race", "W"), p)
    return Expected((f"{shown(p, root)}: row 17, column race: value is not in the code set "
                     "(2 rows; e.g. \"XX\", \"W\")",))


@case
def student_id_pattern(root: Path) -> Expected:
    p = path_of(root, "graduation")
    write(set_cell(read(p), 2, "student_id", "12345"), p)
    return Expected((f"{shown(p, root)}: row 2, column student_id: value is not 10 digits",))


@case
def unknown_district(root: Path) -> Expected:
    p = path_of(root, "graduation")
    write(set_cell(read(p), 5, "district_code", "999999"), p)
    return Expected((f"{shown(p, root)}: row 5, column district_code: district is not in the "
                     "district directory (e.g. \"999999\")",))


@case
def unknown_school(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    df = set_cell(read(p), 17, "school_code", "9999")
    write(df, p)
    return Expected((f"{shown(p, root)}: row 17, column school_code: school 9999 of district "
                     f"{df['district_code'][16]} is not in the school directory",))


def _school_of_one_district(root: Path) -> tuple[str, str, str]:
    """A (school, its district, another district that has no such school)."""
    districts, schools = directory_frames(root)
    owners = schools.group_by("school_code").agg(pl.col("district_code"))
    unique = owners.filter(pl.col("district_code").list.len() == 1)
    for school, (district,) in unique.sort("school_code").iter_rows():
        others = [d for d in districts["district_code"].to_list() if d != district]
        if others:
            return school, district, others[0]
    raise AssertionError("the valid extract needs a school code used by one district only")


@case
def school_in_wrong_district(root: Path) -> Expected:
    p = path_of(root, "assessment")
    df = read(p).with_row_index("_r", offset=1)
    school, district, other = _school_of_one_district(root)
    row = int(df.filter(pl.col("school_code") == school)["_r"][0])
    write(set_cell(df.drop("_r"), row, "district_code", other), p)
    return Expected((f"{shown(p, root)}: row {row}, column school_code: school {school} is not "
                     f"a school of district {other}; it belongs to {district}",))


@case
def grade_outside_span(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    _, schools = directory_frames(root)
    elementary = schools.filter(pl.col("high_grade").is_in(["04", "05", "06"]))
    d, s, lo, hi = elementary.select("district_code", "school_code", "low_grade",
                                     "high_grade").row(0)
    df = read(p).with_row_index("_r", offset=1)
    row = int(df.filter((pl.col("district_code") == d) & (pl.col("school_code") == s))
              .filter(~pl.col("grade").is_in(["03", "04", "05", "06", "07", "08"]))["_r"][0])
    write(set_cell(df.drop("_r"), row, "grade", "11"), p)
    return Expected((f"{shown(p, root)}: row {row}, column grade: grade is outside the grades "
                     f"the school serves (e.g. \"11 at school {s} of {d} ({lo}-{hi})\")",))


@case
def attended_more_than_enrolled(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    df = set_cell(set_cell(read(p), 17, "days_enrolled", 174), 17, "days_attended", 181)
    df = set_cell(set_cell(df, 40, "days_enrolled", 12), 40, "days_attended", 200)
    write(df, p)
    return Expected((f"{shown(p, root)}: row 17, column days_attended: days attended is greater "
                     "than days enrolled (2 rows; e.g. \"181 > 174\", \"200 > 12\")",))


@case
def negative_days(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    write(set_cell(read(p), 17, "days_attended", -3), p)
    return Expected((f"{shown(p, root)}: row 17, column days_attended: value is negative "
                     "(e.g. -3)",))


@case
def too_many_days(root: Path) -> Expected:
    p = path_of(root, "enrollment")
    write(set_cell(read(p), 17, "days_enrolled", 250), p)
    return Expected((f"{shown(p, root)}: row 17, column days_enrolled: value is above the "
                     "maximum of 200 (e.g. 250)",))


@case
def bad_achievement_level(root: Path) -> Expected:
    p = path_of(root, "assessment")
    write(set_cell(read(p), 3, "achievement_level", "Exceeds"), p)
    return Expected((f"{shown(p, root)}: row 3, column achievement_level: value is not in the "
                     "code set (e.g. \"Exceeds\")",))


@case
def score_out_of_range(root: Path) -> Expected:
    p = path_of(root, "assessment")
    write(set_cell(set_cell(read(p), 3, "scale_score", 1200), 8, "scale_score", 50), p)
    return Expected((
        f"{shown(p, root)}: row 8, column scale_score: value is below the minimum of 100 "
        "(e.g. 50)",
        f"{shown(p, root)}: row 3, column scale_score: value is above the maximum of 999 "
        "(e.g. 1200)",
    ))


@case
def assessment_not_enrolled(root: Path) -> Expected:
    p = path_of(root, "assessment")
    write(set_cell(read(p), 3, "student_id", "9999999999"), p)
    return Expected((f"{shown(p, root)}: row 3, column student_id: student is not enrolled in "
                     f"{last_year(root)} (no enrollment row with this year and student_id)",))


@case
def subject_not_given_in_grade(root: Path) -> Expected:
    p = path_of(root, "assessment")
    df = read(p).with_row_index("_r", offset=1)
    row = int(df.filter((pl.col("subject") == "ELA") & pl.col("grade").is_in(["03", "04"]))
              ["_r"][0])
    grade = df["grade"][row - 1]
    write(set_cell(df.drop("_r"), row, "subject", "Science"), p)
    return Expected((f"{shown(p, root)}: row {row}, column grade: subject is not given in this "
                     f"grade (e.g. \"Science in grade {grade}\")",))


@case
def unknown_graduation_outcome(root: Path) -> Expected:
    p = path_of(root, "graduation")
    write(set_cell(read(p), 2, "outcome", "transferred"), p)
    return Expected((f"{shown(p, root)}: row 2, column outcome: value is not in the code set "
                     "(e.g. \"transferred\")",))


@case
def mixed_years(root: Path) -> Expected:
    p = path_of(root, "graduation")
    y = last_year(root)
    df = set_cell(set_cell(read(p), 1, "year", y - 1), 2, "year", y - 1)
    write(df, p)
    return Expected((f"{shown(p, root)}: row 1, column year: rows of another school year in the "
                     f"{y} directory (mixed years in one file) (2 rows; e.g. {y - 1})",))


@case
def grade_span_reversed(root: Path) -> Expected:
    p = path_of(root, "schools")
    df = read(p)
    lo, hi = df["low_grade"][0], df["high_grade"][0]
    df = set_cell(set_cell(df, 1, "low_grade", hi), 1, "high_grade", lo)
    write(df, p)
    return Expected((f"{shown(p, root)}: row 1, column high_grade: high grade is below low "
                     f"grade (e.g. \"{hi}-{lo}\")",))


@case
def enrollment_tenfold(root: Path) -> Expected:
    y = last_year(root)
    p = path_of(root, "enrollment", y)
    df = read(p)
    before = read(path_of(root, "enrollment", y - 1)).group_by("district_code").len()
    now = df.group_by("district_code").len()
    d, n_before, n_now = (before.join(now, on="district_code", suffix="_now")
                          .sort("len", "district_code").row(0))
    extra = 10 * n_before - n_now
    template = df.filter(pl.col("district_code") == d).head(1)
    added = pl.concat([template] * extra).with_columns(
        pl.format("77{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(8))
        .alias("student_id"))
    write(pl.concat([df, added]), p)
    return Expected((f"warning: {shown(p, root)}: district {d}: enrollment rose from "
                     f"{n_before:,} in {y - 1} to {10 * n_before:,} in {y} (10 times the "
                     "previous year)",), severity="warning")


# --- writing the corpus ----------------------------------------------------------------


def write_corpus(out: Path) -> dict[str, Expected]:
    """One directory per case under ``out``; returns what each must report."""
    valid = out / "_valid"
    make_valid_extract(valid)
    expected = {}
    for name, fn in CASES.items():
        shutil.copytree(valid, out / name)
        expected[name] = fn(out / name)
    return expected


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "build/bad_inputs")
    for name, exp in write_corpus(target).items():
        print(f"{name}: {exp.severity}\n  " + "\n  ".join(exp.lines))
