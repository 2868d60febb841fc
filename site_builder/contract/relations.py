"""Rules across columns and across files: the directory, years, grades, attendance, tests.

Every check is a vectorised polars expression or join over a whole file; only the rows that
break a rule are looked at, and only a handful of them.
"""

from __future__ import annotations

import polars as pl

from site_builder import schema
from site_builder.contract.examples import MAX_EXAMPLES, plural
from site_builder.contract.read import ROW, ReadResult
from site_builder.contract.rules import WEIGHT, RowRule, check_rules, combinations
from site_builder.errors import Problem

MAX_SCHOOL_PAIRS = 10
"""At most this many unknown (district, school) pairs are reported one by one per file."""

PLAUSIBLE_RATIO = 10.0
"""A district whose enrollment is this many times (or this fraction of) last year's is flagged."""


def _rank(column: str) -> pl.Expr:
    return pl.col(column).replace_strict(schema.GRADE_ORDER, default=None,
                                         return_dtype=pl.Int32)


def check_directory(districts: ReadResult, schools: ReadResult) -> list[Problem]:
    """The directory files agree with themselves and each other."""
    problems: list[Problem] = []
    for read in (districts, schools):
        if read.has("low_grade", "high_grade"):
            problems += check_rules(read, [RowRule(
                "high_grade", "high grade is below low grade",
                _rank("high_grade") < _rank("low_grade"),
                "low_grade is the lowest grade served and high_grade the highest; swap them",
                shown=pl.format("{}-{}", "low_grade", "high_grade"))])
    if schools.has("district_code") and districts.has("district_code"):
        assert districts.frame is not None
        known = districts.frame["district_code"].drop_nulls().implode()
        problems += check_rules(schools, [RowRule(
            "district_code", "district is not in the district directory",
            pl.col("district_code").is_not_null() & ~pl.col("district_code").is_in(known),
            "every school's district must be a row of directory/districts.csv")])
    return problems


def check_year(read: ReadResult, year: int) -> list[Problem]:
    """A file in the ``2024/`` directory holds only 2024 rows."""
    if not read.has("year"):
        return []
    return check_rules(read, [RowRule(
        "year", f"rows of another school year in the {year} directory (mixed years in one "
                "file)", pl.col("year") != year,
        f"each year directory holds only that year's rows; move these rows to their own year "
        f"directory or export {year} again")])


def check_references(read: ReadResult, districts: ReadResult,
                     schools: ReadResult) -> list[Problem]:
    """District and (district, school) codes of a student file exist in the directory."""
    if not read.has("district_code") or districts.frame is None:
        return []
    known = districts.frame["district_code"].drop_nulls().implode()
    unknown = pl.col("district_code").is_not_null() & ~pl.col("district_code").is_in(known)
    with_school = read.has("school_code")
    combos = combinations(read, ["district_code", "school_code"] if with_school
                          else ["district_code"])
    problems = check_rules(read, [RowRule(
        "district_code", "district is not in the district directory", unknown,
        "add the district to directory/districts.csv, or correct the code in this file")],
        frame=combos)
    if not with_school or schools.frame is None or not schools.has("school_code"):
        return problems
    directory = schools.frame.select("district_code", "school_code").drop_nulls().unique()
    pairs = (combos.filter(pl.col("district_code").is_not_null() & ~unknown
                           & pl.col("school_code").is_not_null())
             .join(directory, on=["district_code", "school_code"], how="anti")
             .rename({ROW: "first", WEIGHT: "n"})
             .sort("first"))
    if pairs.is_empty():
        return problems
    owners = (directory.filter(pl.col("school_code").is_in(pairs["school_code"].implode()))
              .group_by("school_code").agg(pl.col("district_code").sort()))
    owners_of = {r["school_code"]: r["district_code"] for r in owners.iter_rows(named=True)}
    for p in pairs.head(MAX_SCHOOL_PAIRS).iter_rows(named=True):
        school, district = p["school_code"], p["district_code"]
        others = owners_of.get(school)
        if others:
            rule = (f"school {school} is not a school of district {district}; it belongs to "
                    f"{', '.join(others)}")
            hint = ("school codes are unique only within a district: correct the district "
                    "or the school code of these rows")
        else:
            rule = f"school {school} of district {district} is not in the school directory"
            hint = "add the school to directory/schools.csv, or correct the code in this file"
        problems.append(Problem(file=read.display, row=int(p["first"]), column="school_code",
                                rule=rule, count=int(p["n"]), hint=hint))
    if pairs.height > MAX_SCHOOL_PAIRS:
        rest = pairs.slice(MAX_SCHOOL_PAIRS)
        problems.append(Problem(
            file=read.display, row=int(rest["first"][0]), column="school_code",
            rule=f"{plural(rest.height, 'more school')} not in the school directory for "
                 "their district", count=int(rest["n"].sum()),
            hint="see the first schools above; the same fix probably applies"))
    return problems


def check_grade_span(read: ReadResult, schools: ReadResult) -> list[Problem]:
    """Each student's grade is within the low..high grades of their school."""
    cols = ("district_code", "school_code", "grade")
    if not read.has(*cols) or schools.frame is None or \
            not schools.has("district_code", "school_code", "low_grade", "high_grade"):
        return []
    span = (schools.frame.select("district_code", "school_code", "low_grade", "high_grade")
            .unique(subset=["district_code", "school_code"], keep="first")
            # a reversed span is reported by check_directory, not once per student
            .filter(_rank("low_grade") <= _rank("high_grade")))
    joined = combinations(read, list(cols)).join(span, on=["district_code", "school_code"],
                                                 how="inner").sort(ROW)
    outside = (_rank("grade") < _rank("low_grade")) | (_rank("grade") > _rank("high_grade"))
    return check_rules(read, [RowRule(
        "grade", "grade is outside the grades the school serves", outside,
        "correct the grade or the school of these rows, or the school's low_grade/high_grade "
        "in directory/schools.csv",
        shown=pl.format("{} at school {} of {} ({}-{})", "grade", "school_code",
                        "district_code", "low_grade", "high_grade"))],
        frame=joined)


def check_attendance(read: ReadResult) -> list[Problem]:
    """A student cannot attend more days than they were enrolled."""
    if not read.has("days_attended", "days_enrolled"):
        return []
    return check_rules(read, [RowRule(
        "days_attended", "days attended is greater than days enrolled",
        pl.col("days_attended") > pl.col("days_enrolled"),
        "days_attended counts days present out of days_enrolled; check that the two columns "
        "are not swapped and that both cover the same school",
        shown=pl.format("{} > {}", "days_attended", "days_enrolled"))])


def check_subject_grade(read: ReadResult) -> list[Problem]:
    """Each test is taken in a grade it is given in (schema.SUBJECTS)."""
    if not read.has("subject", "grade"):
        return []
    given = pl.lit(False)
    for subject, grades in schema.SUBJECTS.items():
        given = given | ((pl.col("subject") == subject) & pl.col("grade").is_in(list(grades)))
    known = pl.col("subject").is_in(list(schema.SUBJECTS)) & pl.col("grade").is_in(
        list(schema.GRADES))
    words = "; ".join(f"{s} {g[0]}-{g[-1]}" for s, g in schema.SUBJECTS.items())
    return check_rules(read, [RowRule(
        "grade", "subject is not given in this grade", known & ~given,
        f"MAP subjects are given in these grades: {words}; correct the grade or subject",
        shown=pl.format("{} in grade {}", "subject", "grade"))],
        frame=combinations(read, ["subject", "grade"]))


def check_enrolled(read: ReadResult, enrollment: ReadResult, year: int) -> list[Problem]:
    """Every test result (or other per-student row) belongs to a student enrolled that year."""
    if not read.has("year", "student_id") or not enrollment.has("year", "student_id"):
        return []
    assert read.frame is not None and enrollment.frame is not None
    ids = enrollment.frame.select("year", "student_id").drop_nulls()
    orphans = (read.frame.select(ROW, "year", "student_id").drop_nulls()
               .join(ids, on=["year", "student_id"], how="anti").sort(ROW))
    if orphans.is_empty():
        return []
    return [Problem(
        file=read.display, row=int(orphans[ROW][0]), column="student_id",
        rule=f"student is not enrolled in {year} (no enrollment row with this year and "
             "student_id)",
        count=orphans.height,
        examples=tuple(f"row {r}" for r in orphans[ROW].head(MAX_EXAMPLES).to_list())
        if orphans.height > 1 else (),
        hint="every test result must match an enrollment record of the same year; check that "
             "both files come from the same extract and that student_id keeps its leading "
             "zeros")]


def district_sizes(read: ReadResult, year: int) -> pl.DataFrame:
    """Students per district in one year's enrollment: (year, district_code, students)."""
    if not read.has("district_code"):
        return pl.DataFrame(schema={"year": pl.Int64, "district_code": pl.String,
                                    "students": pl.UInt32})
    assert read.frame is not None
    return (read.frame.group_by("district_code").agg(pl.len().alias("students"))
            .drop_nulls().with_columns(pl.lit(year, dtype=pl.Int64).alias("year"))
            .select("year", "district_code", "students").sort("district_code"))


def check_plausible(sizes: pl.DataFrame, displays: dict[int, str]) -> list[Problem]:
    """Warn about districts whose enrollment changed tenfold from one year to the next."""
    if sizes.is_empty():
        return []
    prev = sizes.with_columns((pl.col("year") + 1).alias("year")).rename(
        {"students": "before"})
    jumps = (sizes.join(prev, on=["year", "district_code"], how="inner")
             .with_columns((pl.col("students") / pl.col("before")).alias("ratio"))
             .filter((pl.col("ratio") >= PLAUSIBLE_RATIO) |
                     (pl.col("ratio") <= 1 / PLAUSIBLE_RATIO))
             .sort("year", "district_code"))
    problems = []
    for j in jumps.iter_rows(named=True):
        y, before, now = j["year"], j["before"], j["students"]
        verb = "rose" if now > before else "fell"
        problems.append(Problem(
            file=displays[y], key=f"district {j['district_code']}", severity="warning",
            rule=f"enrollment {verb} from {before:,} in {y - 1} to {now:,} in {y} "
                 f"({j['ratio']:.2g} times the previous year)",
            hint="check that this district's students were exported under the right "
                 "district code and year; if the change is real, ignore this warning"))
    return problems


__all__ = ["MAX_EXAMPLES", "check_attendance", "check_directory", "check_enrolled",
           "check_grade_span", "check_plausible", "check_references", "check_subject_grade",
           "check_year", "district_sizes"]
