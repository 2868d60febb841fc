"""Raw aggregate cells: hand-computed golden values, invariants, determinism, file safety.

The golden extract ``tests/golden/handmade_extract`` (18 students, 3 schools, 2 districts,
one year) was written by hand, and ``tests/golden/handmade_cells.csv`` holds cells computed
from it by reading the rows, not by running compute. Derivation notes for a few of them:

* 90/90 at school 1001: students 1 (180/180), 4 (95/100), 5 (170/180) attend more than 90%;
  2 (162/180 = exactly 0.90), 3 (150/180) and 6 (44/50 = 0.88) do not -> 3 of 6.
* Chronic absence at 1001: 2 (18 of 180 missed = exactly 10%, counts), 3 (30/180),
  6 (6/50 = 12%) -> 3 of 6. The two add up to the 6 enrolled: they are complements.
* Student 12 at school 1002 (81/90) is exactly on the threshold: chronically absent, so not
  90/90 (a student who attended exactly 90% missed 10%, and counts in chronic absence only).
* State ELA: 8 testers (1-6 at 1001, 14-15 at 2001); levels BB {4, 15}, B {1, 6},
  P {3, 5, 14}, A {2} -> proficient or advanced 4 of 8.
* Graduation cohort at 1002: 101 and 103 graduated, 102 dropped out, 104 continuing -> 2 of 4.

Row counts, also by hand: every entity has 30 enrollment rows (total, 14 grades, 7 races,
2 sexes, 6 program groups), zeros included. Rates exist only where the denominator is at
least 1: at most 32 attendance rows per entity (2 measures x 16 groups), exactly two per
enrollment group row that has students; each entity-subject has at most 80 grade-All
assessment rows (5 measures x 16 groups) plus 5 per tested grade; graduation at most 16 rows
per entity with a cohort (1002, 2001, both districts, state).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import polars as pl
import pytest

from site_builder import schema
from site_builder.cells import KEY, RAW_SCHEMA
from site_builder.compute import compute_cells, write_raw_cells
from site_builder.extract import load_extract
from site_builder.specs import ReportSpecs, load_specs

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
HANDMADE = GOLDEN / "handmade_extract"


@pytest.fixture(scope="module")
def specs() -> ReportSpecs:
    return load_specs(ROOT / "report_specs")


@pytest.fixture(scope="module")
def handmade(specs: ReportSpecs) -> pl.DataFrame:
    return compute_cells(load_extract(HANDMADE), specs)


@pytest.fixture(scope="module")
def tiny(specs: ReportSpecs, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    synth = pytest.importorskip("site_builder.synth")
    out = tmp_path_factory.mktemp("tiny") / "extract"
    synth.generate(out, seed=7, years=(2023, 2024), scale=1.0, profile="tiny", canaries=0,
                   fmt="parquet", progress=False)
    return compute_cells(load_extract(out), specs)


def test_golden_handmade(handmade: pl.DataFrame) -> None:
    golden = pl.read_csv(GOLDEN / "handmade_cells.csv", comment_prefix="#",
                         schema_overrides={**RAW_SCHEMA}, empty_string_is_null=False)
    assert golden.height > 90
    got = golden.select(KEY).join(handmade, on=list(KEY), how="left")
    mismatch = golden.join(got, on=list(KEY), suffix="_got").filter(
        (pl.col("n_students") != pl.col("n_students_got"))
        | pl.col("n_students_got").is_null()
        | (pl.col("population") != pl.col("population_got"))
        | (pl.col("n_meeting").is_null() != pl.col("n_meeting_got").is_null())
        | (pl.col("n_meeting") != pl.col("n_meeting_got")))
    assert mismatch.height == 0, mismatch.select(
        "level", "school_code", "measure", "subject", "grade", "student_group", "n_students",
        "n_students_got", "n_meeting", "n_meeting_got")


def test_handmade_row_counts(handmade: pl.DataFrame) -> None:
    per_topic = dict(handmade.group_by("topic").len().iter_rows())
    # 6 entities x 30 counts, zeros included.
    assert per_topic["enrollment"] == 180
    # Two attendance rates per enrollment group (grade All) with at least one student.
    with_students = handmade.filter(topic="enrollment", grade="All").filter(
        pl.col("n_students") > 0).height
    assert 0 < with_students < 6 * 16
    assert per_topic["attendance"] == 2 * with_students
    # The scaffold before rates of no students are dropped: ELA 5 x 110, Math 5 x 110,
    # Science 3 x 90, English II 5 x 100, Algebra I 3 x 105, Biology 5 x 100 = 2685;
    # 5 entities with a cohort x 16 = 80. Most of those groups are empty in 18 students.
    assert 0 < per_topic["assessment"] < 2685
    assert 0 < per_topic["graduation"] < 80


def test_no_rate_of_no_students(handmade: pl.DataFrame, tiny: pl.DataFrame) -> None:
    """A rate of no students is not a cell; a count of zero students is."""
    for cells in (handmade, tiny):
        rates = cells.filter(pl.col("n_meeting").is_not_null())
        assert rates.height > 0
        assert rates.filter(pl.col("n_students") == 0).height == 0
        assert cells.filter(topic="enrollment", n_students=0).height > 0
    # Hand-checked zero-denominator keys of the golden extract (no grade 6 ELA testers at
    # 1001, nobody Pacific Islander): formerly rows of 0 of 0, now absent.
    absent = pl.DataFrame(
        [("001001", "1001", "attendance", "attendance_90_90", "", "All", "Race/Ethnicity",
          "Pacific Islander"),
         ("001001", "1001", "assessment", "proficient_or_advanced", "ELA", "06", "All",
          "All students"),
         ("001001", "1001", "assessment", "proficient_or_advanced", "Science", "08", "All",
          "All students"),
         ("001001", "1002", "assessment", "proficient_or_advanced", "Algebra I", "08", "All",
          "All students")],
        schema=["district_code", "school_code", "topic", "measure", "subject", "grade",
                "group_family", "student_group"], orient="row")
    assert absent.join(handmade, on=absent.columns, how="semi").height == 0


def test_handmade_absent_entities(handmade: pl.DataFrame) -> None:
    def rows(**kw: str) -> int:
        return handmade.filter(**kw).height

    assert rows(topic="graduation", school_code="1001") == 0  # elementary: no cohort
    assert rows(topic="assessment", school_code="1001", subject="Biology") == 0
    assert rows(topic="assessment", level="district", district_code="002002",
                subject="Science") == 0
    assert rows(topic="assessment", level="district", district_code="002002",
                subject="Biology") > 0


def test_schema_order_and_keys(handmade: pl.DataFrame) -> None:
    assert handmade.schema == pl.Schema(RAW_SCHEMA)
    assert handmade.equals(handmade.sort(list(KEY)))
    assert handmade.select(KEY).is_duplicated().sum() == 0
    assert handmade.select(pl.col(list(KEY)).null_count().sum()).row(0) == (0,) * len(KEY)


def _invariants(cells: pl.DataFrame, specs: ReportSpecs) -> None:
    keys_no_entity = ["year", "topic", "measure", "subject", "grade", "group_family",
                      "student_group"]
    vals = [pl.col("n_students").sum(), pl.col("n_meeting").sum()]

    # schools add up to districts, districts to the state
    school = cells.filter(level="school").group_by(["district_code", *keys_no_entity]).agg(vals)
    district = cells.filter(level="district").select(["district_code", *keys_no_entity,
                                                      "n_students", "n_meeting"])
    diff = school.join(district, on=["district_code", *keys_no_entity], how="full",
                       suffix="_d", nulls_equal=True)
    assert diff.filter((pl.col("n_students") != pl.col("n_students_d"))
                       | pl.col("n_students").is_null() | pl.col("n_students_d").is_null()
                       | (pl.col("n_meeting") != pl.col("n_meeting_d"))).height == 0
    dsum = cells.filter(level="district").group_by(keys_no_entity).agg(vals)
    state = cells.filter(level="state").select([*keys_no_entity, "n_students", "n_meeting"])
    diff = dsum.join(state, on=keys_no_entity, how="full", suffix="_s", nulls_equal=True)
    assert diff.filter((pl.col("n_students") != pl.col("n_students_s"))
                       | pl.col("n_students").is_null() | pl.col("n_students_s").is_null()
                       | (pl.col("n_meeting") != pl.col("n_meeting_s"))).height == 0

    # every partition adds up to All students, for every entity, measure, subject
    cell_id = ["year", "level", "district_code", "school_code", "topic", "measure", "subject",
               "grade"]
    total = cells.filter(student_group="All students").select(
        [*cell_id, "n_students", "n_meeting"])
    for family, labels in specs.groups.partitions:
        if family == "All":
            continue
        part = cells.filter(pl.col("group_family") == family,
                            pl.col("student_group").is_in(labels))
        sums = part.group_by(cell_id).agg(*vals, pl.len().alias("k"))
        is_count = pl.col("topic") == "enrollment"
        # counts: every group, zeros present; rates: only groups with students
        assert sums.filter(is_count)["k"].unique().to_list() == [len(labels)], (family, labels)
        assert sums.filter(~is_count)["k"].max() <= len(labels)  # type: ignore[operator]
        cmp = sums.join(total, on=cell_id, how="left", suffix="_all")
        assert cmp.height == sums.height
        bad = cmp.filter((pl.col("n_students") != pl.col("n_students_all"))
                         | (pl.col("n_meeting") != pl.col("n_meeting_all")))
        assert bad.height == 0, (family, bad.head())

    # grades add up to All (enrollment: every grade; assessment: the tested grades)
    by_grade = cells.filter(pl.col("grade") != "All", group_family="All")
    gsum = by_grade.group_by([c for c in cell_id if c != "grade"]).agg(*vals, pl.len().alias("k"))
    gcmp = gsum.join(total.filter(grade="All").drop("grade"),
                     on=[c for c in cell_id if c != "grade"], suffix="_all")
    assert gcmp.height == gsum.height
    assert gcmp.filter((pl.col("n_students") != pl.col("n_students_all"))
                       | (pl.col("n_meeting") != pl.col("n_meeting_all"))).height == 0
    enr = gcmp.filter(topic="enrollment")
    assert enr.height > 0 and enr["k"].unique().to_list() == [len(schema.GRADES)]

    # achievement levels add up to the students tested; P/A = Proficient + Advanced
    a = cells.filter(topic="assessment").pivot(
        "measure", index=["year", "level", "district_code", "school_code", "subject", "grade",
                          "group_family", "student_group", "n_students"], values="n_meeting")
    assert a.height > 0
    # The levels are shown for All students (by grade); groups get proficient or advanced only.
    has_levels = pl.col("level_below_basic").is_not_null()
    assert a.filter(has_levels).height > 0
    assert (a.filter(has_levels)["group_family"] == "All").all()
    a = a.filter(has_levels)
    assert a.filter(pl.sum_horizontal("level_below_basic", "level_basic", "level_proficient",
                                      "level_advanced") != pl.col("n_students")).height == 0
    assert a.filter(pl.col("proficient_or_advanced")
                    != pl.col("level_proficient") + pl.col("level_advanced")).height == 0

    # attendance is over every enrolled student: same n_students as enrollment
    e = cells.filter(topic="enrollment", grade="All").select(
        "year", "level", "district_code", "school_code", "group_family", "student_group",
        "n_students")
    e = e.filter(pl.col("n_students") > 0)  # no rate of no students
    for m in ("attendance_90_90", "chronic_absence"):
        att = cells.filter(measure=m).select(e.columns)
        assert att.sort(att.columns).equals(e.sort(e.columns))
    # ... and its two measures are complements: every enrolled student is in exactly one
    # (report_specs/policy.yaml, level_partitions)
    where = [c for c in e.columns if c != "n_students"]
    both = (cells.filter(topic="attendance").group_by([*where, "n_students"])
            .agg(pl.col("n_meeting").sum(), pl.len()))
    assert both["len"].unique().to_list() == [2]
    assert both.filter(pl.col("n_meeting") != pl.col("n_students")).height == 0

    # counts have no numerator; rates have one within [0, n_students]
    assert cells.filter(pl.col("measure") == "enrollment", pl.col("n_meeting").is_not_null()
                        ).height == 0
    rates = cells.filter(pl.col("measure") != "enrollment")
    assert rates["n_meeting"].null_count() == 0
    assert rates.filter((pl.col("n_meeting") < 0)
                        | (pl.col("n_meeting") > pl.col("n_students"))).height == 0


def test_invariants_handmade(handmade: pl.DataFrame, specs: ReportSpecs) -> None:
    _invariants(handmade, specs)


def test_invariants_tiny_fixture(tiny: pl.DataFrame, specs: ReportSpecs) -> None:
    _invariants(tiny, specs)
    assert tiny["year"].unique().sort().to_list() == [2023, 2024]
    # zero rows: every enrolled entity has every race, zero or not
    zeros = tiny.filter(topic="enrollment", group_family="Race/Ethnicity", n_students=0)
    assert zeros.height > 0


def test_years_subset(specs: ReportSpecs, tmp_path: Path) -> None:
    # two years: the second copies 2024 with one student fewer
    root = tmp_path / "x"
    (root / "2023").mkdir(parents=True)
    for d in ("directory", "2024"):
        os.symlink(HANDMADE / d, root / d)
    for f in ("enrollment", "assessment", "graduation"):
        lines = (HANDMADE / "2024" / f"{f}.csv").read_text().splitlines()
        body = [ln.replace("2024,", "2023,", 1) for ln in lines[1:]]
        if f == "enrollment":
            body = body[1:]  # student 1 absent in 2023
        (root / "2023" / f"{f}.csv").write_text("\n".join([lines[0], *body]) + "\n")
    both = compute_cells(load_extract(root), specs)
    only = compute_cells(load_extract(root, years=(2023,)), specs)
    assert only["year"].unique().to_list() == [2023]
    assert both.filter(year=2023).equals(only)
    total = dict(both.filter(level="state", measure="enrollment", grade="All",
                             student_group="All students").select("year", "n_students")
                 .iter_rows())
    assert total == {2023: 17, 2024: 18}


def test_write_is_restricted_and_deterministic(handmade: pl.DataFrame, specs: ReportSpecs,
                                               tmp_path: Path) -> None:
    a = write_raw_cells(handmade, tmp_path / "a" / "aggregates")
    again = compute_cells(load_extract(HANDMADE), specs)
    b = write_raw_cells(again, tmp_path / "b" / "aggregates")
    assert a.read_bytes() == b.read_bytes()
    assert stat.S_IMODE(a.stat().st_mode) == 0o600
    assert stat.S_IMODE(a.parent.stat().st_mode) == 0o700
    assert pl.read_parquet(a).equals(handmade)


def test_sections_limit_levels_and_years(tmp_path: Path) -> None:
    import shutil

    spec_dir = tmp_path / "specs"
    shutil.copytree(ROOT / "report_specs", spec_dir)
    p = spec_dir / "graduation.yaml"
    p.write_text(p.read_text().replace("    chart: {kind: bar, x: student_group, y: rate}",
                                       "    levels: [state, district]\n    years: [2023]\n"
                                       "    chart: {kind: bar, x: student_group, y: rate}"))
    cells = compute_cells(load_extract(HANDMADE), load_specs(spec_dir))
    assert cells.filter(topic="graduation").height == 0  # 2024 only in the extract
    assert cells.filter(topic="enrollment").height == 180


@pytest.mark.slow
def test_full_state_invariants(specs: ReportSpecs, tmp_path: Path) -> None:
    """The whole synthetic state (~880k students a year, 5 years): invariants hold at scale
    (e.g. the packed keys have room for every district and school)."""
    synth = pytest.importorskip("site_builder.synth")
    out = tmp_path / "extract"
    synth.generate(out, seed=20240601, years=(2021, 2022, 2023, 2024, 2025), scale=1.0,
                   profile="state", canaries=0, fmt="parquet", progress=False)
    cells = compute_cells(load_extract(out), specs)
    schools = cells.filter(level="school").select("district_code", "school_code").unique()
    assert schools.height > 2000
    assert cells.equals(cells.sort(list(KEY)))
    _invariants(cells, specs)


def test_adding_a_measure_is_yaml_plus_one_function(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipe in site_builder/measures.py: declare it, write its numerator, name it."""
    import shutil

    from site_builder import measures

    def attendance_95() -> pl.Expr:
        """Attended at least 95% of the days enrolled."""
        return 100 * pl.col("days_attended") >= 95 * pl.col("days_enrolled")

    monkeypatch.setitem(measures.NUMERATORS, "attendance_95", measures.Numerator(
        "attendance_95", "enrollment", attendance_95, "Attended at least 95% of days."))
    spec_dir = tmp_path / "report_specs"
    shutil.copytree(ROOT / "report_specs", spec_dir)
    p = spec_dir / "attendance.yaml"
    p.write_text(p.read_text().replace("sections:\n", """  - id: attendance_95
    label: Attended 95% of days
    description: Share of students who attended at least 95% of their days.
    kind: rate
sections:
  - id: attendance_95_by_group
    title: Students attending 95% of days
    description: The share of students who attended at least 95% of their days.
    measure: attendance_95
    breakdowns: [Sex]
    chart: {kind: bar, x: student_group, y: rate}
""", 1))
    cells = compute_cells(load_extract(HANDMADE), load_specs(spec_dir))
    got = cells.filter(measure="attendance_95", level="school", school_code="1001")
    # school 1001: students 1 (180/180) and 4 (95/100) attend >= 95%; 2 (162), 3 (150),
    # 5 (170/180 = 94.4%) and 6 (44/50) do not. Females 1, 3, 5 -> 1 of 3; males 2, 4, 6 -> 1.
    assert dict(got.select("student_group", "n_meeting").iter_rows()) == {
        "All students": 2, "Female": 1, "Male": 1}
    assert got["population"].unique().to_list() == ["enrolled"]
    assert cells.filter(measure="attendance_95").height == 6 * 3  # 6 entities x 3 groups


def test_end_of_course_tests_are_for_all_grades_together(handmade: pl.DataFrame,
                                                         tiny: pl.DataFrame) -> None:
    """The specs' grade_subjects: ELA, Math and Science by grade; the end-of-course tests
    (English II, Algebra I, Biology) only for all grades (the golden extract has Algebra I
    takers in grades 9 and 10: no cell of theirs by grade)."""
    eoc = ["English II", "Algebra I", "Biology"]
    for cells in (handmade, tiny):
        tested = cells.filter(topic="assessment")
        assert tested.filter(pl.col("subject").is_in(eoc), pl.col("grade") != "All").height == 0
        assert tested.filter(pl.col("subject").is_in(eoc)).height > 0
        assert tested.filter(subject="Math").filter(pl.col("grade") != "All").height > 0
