"""Attack a protected year through links between tables that the policy does not declare.

    .venv/bin/python benchmarks/unseen_links.py AGGREGATES_DIR YEAR MODE

AGGREGATES_DIR is what ``reportcard compute`` writes (``published.parquet``,
``cells.parquet`` and the witnesses). The independent audit is run on the year's published
cells, as the publication gate runs it, after telling it one more thing an attacker knows:

- ``plain``: nothing more (the gate's own audit; it passes).
- ``attendance``: where one attendance measure of a row is published and the other
  withheld, the withheld one (an attacker who guesses the students at exactly 90% of days,
  whom both of Missouri's definitions count). Moot since session 52, when the two became
  complements and the policy declares them a partition: nothing is left to give.
- ``tested-bound``: a grade's tested count (per subject) is at most the grade's enrolled
  count, where that is published. Certain: no student is tested who is not enrolled. Moot
  since session 53, when the policy declares it (``population_bounds``) and the audit
  holds every tested count to its enrolment: run on an older pattern, ``plain`` shows it.
- ``tested-known``: the tested count itself, where the grade's enrolled count is published
  (an attacker who knows how many were not tested; in the demo state, 47% of a school's
  grades have every enrolled student tested and 89% all but two).
- ``same-testers``: an ELA tested count, where the Math one of the same place, grade and
  group is published, and the other way round (an attacker who takes the two for the same
  students: in the synthetic state they are, in all 44,995 of 2024's pairs).

Prints the audit's failures by kind and the first few. This is an experiment: it wraps the
audit's private ``_knowledge`` and changes nothing in the package (benchmarks/README.md,
session 52).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl

import site_builder.disclosure.audit as audit
from site_builder.disclosure.policy import load_policy
from site_builder.disclosure.relations import System

MODES = ("plain", "attendance", "tested-bound", "tested-known", "same-testers")


def attendance_given(published: pl.DataFrame, raw: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The published cells with each withheld attendance numerator whose partner is
    published given its true value."""
    key = ["year", "level", "district_code", "school_code", "grade", "group_family",
           "student_group"]
    att = published.filter(pl.col("topic") == "attendance")
    shown = att.filter(pl.col("n_meeting").is_not_null()).select(key).unique()
    hidden = (att.filter(pl.col("n_meeting").is_null()).select([*key, "measure"])
              .join(shown, on=key, how="semi").with_columns(pl.lit(True).alias("_given")))
    truth = raw.filter(pl.col("topic") == "attendance").select(
        [*key, "measure", pl.col("n_meeting").alias("_true")])
    out = (published.join(hidden, on=[*key, "measure"], how="left")
           .join(truth, on=[*key, "measure"], how="left"))
    out = out.with_columns(pl.when(pl.col("_given")).then(pl.col("_true"))
                           .otherwise(pl.col("n_meeting")).alias("n_meeting"))
    return out.drop("_given", "_true"), hidden.height


def tested_knowledge(mode: str, raw: pl.DataFrame, counted: dict[str, int]):  # noqa: ANN201
    """audit._knowledge, told about tested counts as ``mode`` says."""
    original = audit._knowledge

    def knowledge(cells: pl.DataFrame, system: System, policy):  # noqa: ANN001, ANN202
        k = original(cells, system, policy)
        where = ["level", "district_code", "school_code", "grade", "group_family",
                 "student_group"]
        v = system.vars
        tested = v.filter(pl.col("series") == "d:tested", pl.col("grade") != "All")
        enrolled = v.filter(pl.col("series") == "d:enrolled").select(
            [*where, pl.col("var_id").alias("enrolled_id")])
        pairs = tested.join(enrolled, on=where)
        t = pairs["var_id"].to_numpy()
        e = pairs["enrolled_id"].to_numpy()
        sel = k.known[e] & ~k.known[t]
        t, e = t[sel], e[sel]
        counted["tested counts withheld where the grade's enrolment is published"] = len(t)
        if mode == "tested-bound":
            k.hi[t] = np.minimum(k.hi[t], k.value[e])
        else:
            truth = audit.hint_values(cells, system, raw)
            k.known[t] = True
            k.value[t] = k.lo[t] = k.hi[t] = truth[t]
        return k

    return knowledge


def same_testers_knowledge(raw: pl.DataFrame, counted: dict[str, int]):  # noqa: ANN201
    """audit._knowledge, given each withheld ELA or Math tested count whose other subject's
    count (same place, grade and group) is published."""
    original = audit._knowledge

    def knowledge(cells: pl.DataFrame, system: System, policy):  # noqa: ANN001, ANN202
        k = original(cells, system, policy)
        where = ["level", "district_code", "school_code", "grade", "group_family",
                 "student_group"]
        tested = system.vars.filter(pl.col("series") == "d:tested")
        ela = tested.filter(pl.col("subject") == "ELA").select([*where, "var_id"])
        math = tested.filter(pl.col("subject") == "Math").select(
            [*where, pl.col("var_id").alias("other")])
        pairs = ela.join(math, on=where)
        a, b = pairs["var_id"].to_numpy(), pairs["other"].to_numpy()
        given = np.concatenate([a[k.known[b] & ~k.known[a]], b[k.known[a] & ~k.known[b]]])
        counted["tested counts given by the other subject's"] = len(given)
        truth = audit.hint_values(cells, system, raw)
        k.known[given] = True
        k.value[given] = k.lo[given] = k.hi[given] = truth[given]
        return k

    return knowledge


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("aggregates", type=Path)
    ap.add_argument("year", type=int)
    ap.add_argument("mode", choices=MODES)
    args = ap.parse_args()
    published = pl.read_parquet(args.aggregates / "published.parquet").filter(
        pl.col("year") == args.year)
    raw = pl.read_parquet(args.aggregates / "cells.parquet").filter(pl.col("year") == args.year)
    witnesses = audit.read_witnesses(args.aggregates)
    counted: dict[str, int] = {}
    if args.mode == "attendance":
        published, n = attendance_given(published, raw)
        counted["attendance numerators given"] = n
    elif args.mode == "same-testers":
        audit._knowledge = same_testers_knowledge(raw, counted)
    elif args.mode.startswith("tested"):
        audit._knowledge = tested_knowledge(args.mode, raw, counted)
    t0 = time.perf_counter()
    report = audit.audit_cells(published, load_policy(), hint=raw, witnesses=(
        {args.year: witnesses[args.year]} if args.year in witnesses else None))
    kinds = Counter(f.kind for f in report.failures)
    print(f"{args.year} {args.mode}: {counted or ''} "
          f"{'passes' if report.ok else 'FAILS'} {dict(kinds)} "
          f"({time.perf_counter() - t0:.1f} s)")
    for f in [f for f in report.failures if f.kind != "unproven"][:5]:
        print("  " + f.render().splitlines()[0])


if __name__ == "__main__":
    main()
