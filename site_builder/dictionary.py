"""The analysts' data dictionary of the extract, generated from ``schema.py``.

``docs/extract_data_dictionary.md`` is this module's output and is committed; a test fails
when it is out of date. Regenerate it with::

    .venv/bin/python -m site_builder.dictionary
"""

from __future__ import annotations

import sys
from pathlib import Path

from site_builder import schema

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "docs" / "extract_data_dictionary.md"

_TYPE_WORDS = {"str": "text", "int": "whole number", "bool": "true/false",
               "date": "date (YYYY-MM-DD)"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rule(col: schema.Column) -> str:
    parts = []
    if col.codes == schema.GRADES:
        parts.append("a grade code, `PK` to `12` (see [grades](#grades))")
    elif col.codes is not None:
        parts.append("one of " + ", ".join(f"`{c}`" for c in col.codes))
    if col.pattern is not None:
        parts.append(f"matches `{col.pattern}`")
    if col.min is not None and col.max is not None:
        parts.append(f"{col.min} to {col.max}")
    elif col.min is not None:
        parts.append(f"at least {col.min}")
    elif col.max is not None:
        parts.append(f"at most {col.max}")
    return "; ".join(parts)


def _file_section(spec: schema.FileSpec) -> list[str]:
    where = "`YYYY/" if spec.per_year else "`directory/"
    bullets = []
    if spec.grain:
        bullets.append(f"- **Grain:** {spec.grain}.")
    if spec.unique:
        bullets.append(f"- **Unique key:** {', '.join(f'`{c}`' for c in spec.unique)}.")
    pii = ", ".join(f"`{c}`" for c in spec.pii_columns)
    bullets.append(f"- **PII, dropped by the loader:** {pii}." if pii else "- **PII:** none.")
    lines = [
        f"## {spec.name}",
        "",
        f"{where}{spec.name}.parquet` or {where}{spec.name}.csv`",
        "",
        spec.description,
        "",
        *bullets,
        "",
        "| Column | Type | Required | PII | Allowed values | Description |",
        "|---|---|---|---|---|---|",
    ]
    for col in spec.columns:
        required = "key" if col.key else ("no" if col.nullable else "yes")
        lines.append(
            f"| `{col.name}` | {_TYPE_WORDS[col.dtype]} | {required} | "
            f"{'**PII**' if col.pii else ''} | {_cell(_rule(col))} | {_cell(col.description)} |")
    return lines + [""]


def _code_sets() -> list[str]:
    lines = ["## Code sets", ""]
    lines += ["### Race/ethnicity (`race`)", "", "| Code | Label |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in schema.RACES.items()]
    lines += ["", "### Sex (`sex`)", "", "| Code | Label |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in schema.SEXES.items()]
    lines += ["", "### Grades", "",
              "Used by `grade`, `low_grade` and `high_grade`, in order: "
              + ", ".join(f"`{g}`" for g in schema.GRADES)
              + ". PK is pre-kindergarten, K kindergarten.", ""]
    lines += ["### MAP subjects (`subject`) and the grades they are given in", "",
              "| Subject | Grades |", "|---|---|"]
    lines += [f"| `{s}` | {', '.join(g)} |" for s, g in schema.SUBJECTS.items()]
    lines += ["", "### Achievement levels (`achievement_level`)", "",
              "From lowest to highest: "
              + ", ".join(f"`{a}`" for a in schema.ACHIEVEMENT_LEVELS) + ".", ""]
    lines += ["### Graduation outcomes (`outcome`)", "", "| Code | Meaning |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in schema.GRADUATION_OUTCOMES.items()]
    lines += ["", "### LEA and school kinds", "",
              "- `lea_kind`: " + ", ".join(f"`{k}`" for k in schema.LEA_KINDS),
              "- `school_kind`: " + ", ".join(f"`{k}`" for k in schema.SCHOOL_KINDS), ""]
    return lines


_CHECKS = """## What `reportcard validate` checks

Every rule below comes from the tables above; a problem names the file, the row (1-based,
header not counted; for per-year files the row in that year's file), the column, the rule,
a few examples and a hint. All problems are listed at once, and nothing is computed until
every error is fixed.

- **Files:** every file above is present (per year: enrollment, assessment, graduation),
  not empty, and readable (Parquet not truncated; CSV comma-separated and UTF-8). A UTF-8
  byte-order mark is accepted with a warning. Each year directory holds only its own year.
  A file present as both .parquet and .csv is an error; a file that is not in the contract
  is a warning (it is never read).
- **Columns:** exactly the columns listed: a missing column and an unexpected column are
  both errors (an unexpected column might carry PII). Values have the declared type;
  required columns have no missing values.
- **Values:** codes in their code set, patterns matched in full, numbers within range,
  unique keys unique.
- **Across files:** every district is in `districts`, every (district, school) in
  `schools` (a school code found under another district is named); grades within the
  school's `low_grade`..`high_grade`; `days_attended` not above `days_enrolled`; every test
  result belongs to a student enrolled that year, in a grade the subject is given in.
- **Plausibility (warning):** a district whose enrollment is ten times, or a tenth of, the
  previous year's.

Values of PII columns are never printed in messages; their row numbers are.
"""


def render() -> str:
    """The whole data dictionary as markdown."""
    lines = [
        "# Extract data dictionary",
        "",
        "<!-- Generated from site_builder/schema.py by `python -m site_builder.dictionary`; "
        "do not edit by hand. -->",
        "",
        "A student-level extract is a directory:",
        "",
        "```",
        "extract/",
        "  directory/districts.csv    one row per LEA (public directory data)",
        "  directory/schools.csv      one row per school building",
        "  2024/enrollment.parquet    one row per student enrolled that school year",
        "  2024/assessment.parquet    one row per test result",
        "  2024/graduation.parquet    one row per student in the 4-year cohort ending that year",
        "  2025/...",
        "```",
        "",
        "A year directory is named by the school year's *ending* year: `2024` is 2023-24. "
        "Files may be Parquet or CSV (comma-separated, UTF-8, header row); a CSV writes "
        "true/false for booleans and YYYY-MM-DD for dates. Codes are text: keep their "
        "leading zeros.",
        "",
        "Contents: " + ", ".join(f"[{f.name}](#{f.name})" for f in schema.ALL_FILES)
        + ", [code sets](#code-sets), "
        "[what validate checks](#what-reportcard-validate-checks).",
        "",
    ]
    for spec in schema.ALL_FILES:
        lines += _file_section(spec)
    lines += _code_sets()
    return "\n".join(lines) + "\n" + _CHECKS


def write(path: Path = DEFAULT_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH))
