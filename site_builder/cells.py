"""The aggregate cell: the one tidy shape shared by compute, disclosure, the site and the gate.

Compute writes *raw* cells (restricted: exact values, nothing withheld) to
``build/aggregates/cells.parquet``. Disclosure control turns them into *published* cells
(``build/aggregates/published.parquet``): the same keys plus ``rate``, ``display``,
``suppressed`` and ``reason``, with every withheld number set to null. The site and the CSV
downloads are rendered from published cells only.

A cell is identified by its key columns. Its ``population`` says which students its
``n_students`` counts; two cells that share ``DENOMINATOR_KEY`` describe the same students
and always carry the same ``n_students`` (for example the enrollment count of Black students
and the denominator of the Black students' 90/90 attendance rate), so disclosure control
treats them as one number published in two places.
"""

from __future__ import annotations

import polars as pl

KEY: tuple[str, ...] = (
    "year", "level", "district_code", "school_code", "topic", "measure", "subject", "grade",
    "group_family", "student_group",
)
"""Columns that identify a cell. Empty string, never null, for "not applicable"
(``district_code`` of the state, ``school_code`` of a district, ``subject`` outside
assessment)."""

DENOMINATOR_KEY: tuple[str, ...] = (
    "year", "level", "district_code", "school_code", "population", "subject", "grade",
    "group_family", "student_group",
)
"""Cells equal on these columns have the same ``n_students``."""

RAW_SCHEMA: dict[str, pl.DataType] = {
    "year": pl.Int32(),
    "level": pl.String(),          # state | district | school
    "district_code": pl.String(),  # "" for the state
    "school_code": pl.String(),    # "" unless level == school
    "topic": pl.String(),          # enrollment | attendance | assessment | graduation
    "measure": pl.String(),        # e.g. enrollment, attendance_90_90, level_basic
    "population": pl.String(),     # enrolled | tested | cohort: whom n_students counts
    "subject": pl.String(),        # "" or ELA, Math, ...
    "grade": pl.String(),          # All, PK, K, 01..12
    "group_family": pl.String(),   # All | Race/Ethnicity | Sex | Program
    "student_group": pl.String(),  # All students, Black, Female, English learners, ...
    "n_students": pl.Int64(),      # head count, or a rate's denominator
    "n_meeting": pl.Int64(),       # a rate's numerator; null for counts
}

PUBLISHED_EXTRA: dict[str, pl.DataType] = {
    "rate": pl.Float64(),          # percent, one decimal; null for counts or when withheld
    "display": pl.String(),        # exactly what the page shows
    "suppressed": pl.Boolean(),
    "reason": pl.String(),         # "" | primary | complementary | top_coded | bottom_coded
}

CSV_COLUMNS: tuple[str, ...] = (
    "year", "level", "district_code", "district_name", "school_code", "school_name", "topic",
    "measure", "subject", "grade", "group_family", "student_group", "n_students", "n_meeting",
    "rate", "display", "suppressed", "reason",
)
"""Column order of every public CSV download (one row per published cell)."""

LEVELS: tuple[str, ...] = ("state", "district", "school")

REASONS: tuple[str, ...] = ("", "primary", "complementary", "top_coded", "bottom_coded")

ALL_STUDENTS = "All students"
ALL_GRADES = "All"


def empty_raw() -> pl.DataFrame:
    """A raw cell table with no rows (useful for tests and for unions)."""
    return pl.DataFrame(schema=RAW_SCHEMA)
