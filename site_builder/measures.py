"""The measures of the report card: one named, documented function per rate.

A *measure* is declared in ``report_specs/<topic>.yaml``; this module holds the only Python a
measure may need: the **numerator** of a rate, written as a polars expression that is true for
each student (row of the topic's source table) who counts towards it. The denominator is
always every student of the topic's population (enrolled, tested or cohort) in the cell, so it
needs no code. Counts (``kind: count``) need no code at all.

How to add a measure
--------------------
1. Declare it in the topic's YAML file under ``measures:``::

       - id: attendance_95
         label: Attended 95% of days
         description: Share of enrolled students who attended at least 95% of their days.
         kind: rate
         numerator: attendance_95        # the function below; defaults to the measure id

2. If it is a rate, add one function here, decorated with ``@numerator(source=...)`` where
   ``source`` is the extract table the topic reads (``enrollment``, ``assessment`` or
   ``graduation``). It takes no arguments and returns a boolean polars expression over that
   table's allow-listed columns. Give it a docstring: it is the measure's definition for
   analysts and for the data dictionary::

       @numerator(source="enrollment")
       def attendance_95() -> pl.Expr:
           \"\"\"Attended at least 95% of the days enrolled.\"\"\"
           return 100 * pl.col("days_attended") >= 95 * pl.col("days_enrolled")

3. Name the measure in a section's ``measure:`` list (same YAML file) so it is computed,
   published and charted. ``reportcard compute`` then produces its cells for every level,
   year and breakdown of that section; ``load_specs`` reports a misspelt or unknown measure or
   function, with the known names, before anything is computed.

Numerators use integer arithmetic where a threshold is a ratio, so a student exactly at the
threshold is counted the same way on every machine (``10 * attended >= 9 * enrolled`` is
``attended / enrolled >= 0.90`` without floating point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import polars as pl

Source = Literal["enrollment", "assessment", "graduation"]


@dataclass(frozen=True)
class Numerator:
    """A registered numerator function."""

    name: str
    source: Source
    """The extract table whose rows the expression is evaluated on."""
    function: Callable[[], pl.Expr]
    description: str

    def expr(self) -> pl.Expr:
        return self.function()


NUMERATORS: dict[str, Numerator] = {}
"""Every numerator function, by name: what ``numerator:`` in a measure spec may refer to."""


def numerator(*, source: Source) -> Callable[[Callable[[], pl.Expr]], Callable[[], pl.Expr]]:
    """Register a function as the numerator of a rate measure on the ``source`` table."""

    def register(fn: Callable[[], pl.Expr]) -> Callable[[], pl.Expr]:
        doc = " ".join((fn.__doc__ or "").split())
        if not doc:
            raise TypeError(f"numerator {fn.__name__} needs a docstring: it is its definition")
        NUMERATORS[fn.__name__] = Numerator(fn.__name__, source, fn, doc)
        return fn

    return register


# --- attendance (source: enrollment; population: every enrolled student, PK-12) -----------


@numerator(source="enrollment")
def attendance_90_90() -> pl.Expr:
    """Attended more than 90% of the days enrolled (days_attended / days_enrolled > 0.90): every
    student who is not chronically absent. A student who attended exactly 90% missed 10%,
    and counts as chronically absent only."""
    # Missouri's own 90/90 counts a student at exactly 90% (">= 0.90"), and so does the
    # federal chronic absence: the two measures would then add up to the enrolled count
    # plus the few students exactly on the line (0.16% of the demo state), a number no table
    # publishes. That near-identity let anyone who guesses "none" work withheld numbers out
    # of their published partners (2024 of the demo state: 96 withheld values exactly).
    # Published as exact complements, the policy declares them a partition
    # (report_specs/policy.yaml, level_partitions) and protect() and the audit see it.
    return 10 * pl.col("days_attended") > 9 * pl.col("days_enrolled")


@numerator(source="enrollment")
def chronic_absence() -> pl.Expr:
    """Missed at least 10% of the days enrolled
    ((days_enrolled - days_attended) / days_enrolled >= 0.10)."""
    return 10 * (pl.col("days_enrolled") - pl.col("days_attended")) >= pl.col("days_enrolled")


# --- assessment (source: assessment; population: students tested in the subject) ---------


@numerator(source="assessment")
def proficient_or_advanced() -> pl.Expr:
    """Scored Proficient or Advanced on the MAP test of the subject."""
    return pl.col("achievement_level").is_in(["Proficient", "Advanced"])


@numerator(source="assessment")
def level_below_basic() -> pl.Expr:
    """Scored Below Basic on the MAP test of the subject."""
    return pl.col("achievement_level") == "Below Basic"


@numerator(source="assessment")
def level_basic() -> pl.Expr:
    """Scored Basic on the MAP test of the subject."""
    return pl.col("achievement_level") == "Basic"


@numerator(source="assessment")
def level_proficient() -> pl.Expr:
    """Scored Proficient on the MAP test of the subject."""
    return pl.col("achievement_level") == "Proficient"


@numerator(source="assessment")
def level_advanced() -> pl.Expr:
    """Scored Advanced on the MAP test of the subject."""
    return pl.col("achievement_level") == "Advanced"


# --- graduation (source: graduation; population: the four-year adjusted cohort) ----------


@numerator(source="graduation")
def graduation_4yr() -> pl.Expr:
    """Graduated with a regular diploma within four years (outcome == "graduated")."""
    return pl.col("outcome") == "graduated"
