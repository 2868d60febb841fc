"""The CSV downloads: one file per district (the district and its schools), one for the state
(the state and every district), and a data dictionary.

Every file has the columns of :data:`site_builder.cells.CSV_COLUMNS`, one row per published
cell, in a fixed order. A withheld number is an empty field, never 0. The union of the files
holds every cell any page shows (a school's cells are in its district's file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from site_builder.disclosure.policy import Policy
from site_builder.site.sections import SiteSpecs

COLUMN_DESCRIPTIONS: dict[str, str] = {
    "year": "School year by its ending year: 2025 is the 2024-25 school year.",
    "level": "state, district or school.",
    "district_code": "County-district code, 6 digits, as text: 001091, not 1091 (a "
                     "spreadsheet keeps the leading zeros when the column is imported as "
                     "text); empty for the state.",
    "district_name": "District name from the DESE directory; empty for the state.",
    "school_code": "School building code, 4 digits, as text (keep the leading zeros, as "
                   "for district_code); empty for the state and districts.",
    "school_name": "School name from the DESE directory; empty unless level is school.",
    "topic": "enrollment, attendance, assessment or graduation.",
    "measure": "What is counted; see the measure rows of this dictionary.",
    "subject": "Test subject for assessment measures; empty otherwise.",
    "grade": "Grade (PK, K, 01 to 12, as text) or All for all grades together.",
    "group_family": "Kind of student group: All, Race/Ethnicity, Sex or Program.",
    "student_group": "The student group; see the group rows of this dictionary.",
    "n_students": "Students in the group (for a percent: the students it is a percent of). "
                  "Empty when hidden. A percent of a group with no students has no row.",
    "n_meeting": "For a percent: the students who meet the measure. Empty when hidden, when "
                 "the percent is shown as a range, and for counts.",
    "rate": "The percent, one decimal. Empty when hidden or shown as a range.",
    "display": "Exactly what the web page shows, including the symbol for a hidden value.",
    "suppressed": "true when a number of this row is hidden or shown as a range.",
    "reason": "Why: primary (fewer than 30 students), complementary (hidden to protect "
              "another hidden number), top_coded or bottom_coded (shown as a range); empty "
              "when nothing is hidden.",
}


@dataclass(frozen=True)
class WrittenFile:
    rel: str
    """Path relative to the site root, e.g. downloads/districts/001091.csv."""
    rows: int
    bytes: int


def _write(df: pl.DataFrame, path: Path) -> int:
    """UTF-8 with a byte-order mark: Excel, opening a CSV by a double click, reads a file
    without one in the computer's legacy code page, and "≥95%" (in 529 of the full state's
    561 district files) shows as "â‰¥95%". polars, pandas, readr and data.table skip it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_csv(path, null_value="", include_header=True, line_terminator="\n",
                 include_bom=True)
    return path.stat().st_size


def write_downloads(frame: pl.DataFrame, out: Path, district_codes: list[str],
                    specs: SiteSpecs, policy: Policy) -> list[WrittenFile]:
    """Write every CSV under ``out/downloads``; ``frame`` is :func:`data.csv_frame` output."""
    files: list[WrittenFile] = []
    dl = out / "downloads"
    state = frame.filter(pl.col("level").is_in(["state", "district"]))
    files.append(WrittenFile("downloads/state.csv", state.height,
                             _write(state, dl / "state.csv")))
    by_district = frame.filter(pl.col("level") != "state").partition_by(
        "district_code", as_dict=True, maintain_order=True)
    empty = frame.clear()
    for code in sorted(district_codes):
        df = by_district.get((code,), empty)
        rel = f"downloads/districts/{code}.csv"
        files.append(WrittenFile(rel, df.height, _write(df, out / rel)))
    dictionary = data_dictionary(specs, policy)
    files.append(WrittenFile("downloads/data_dictionary.csv", dictionary.height,
                             _write(dictionary, dl / "data_dictionary.csv")))
    return files


def data_dictionary(specs: SiteSpecs, policy: Policy) -> pl.DataFrame:
    """Every column, measure, student group and reason code, in plain words."""
    rows: list[tuple[str, str, str, str]] = []
    for c, text in COLUMN_DESCRIPTIONS.items():
        rows.append(("column", c, "", text))
    for m in specs.measures.values():
        unit = "count of students" if m.kind == "count" else "percent of students"
        rows.append(("measure", m.id, m.label, f"{m.description} ({m.topic}; {unit})"))
    for f in specs.families:
        for g in f.groups:
            rows.append(("student_group", g, f.id, f.description))
    for reason in ("primary", "complementary", "top_coded", "bottom_coded"):
        rows.append(("reason", reason, "", policy.footnote(reason)))
    rows.append(("symbol", policy.display.symbol, "", "A hidden value (see reason)."))
    return pl.DataFrame(rows, schema=["kind", "name", "label", "description"], orient="row")
