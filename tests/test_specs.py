"""Report specs: the committed specs load; every invalid spec lists every error at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import BaseModel

from site_builder import specs as specs_mod
from site_builder.errors import SpecError
from site_builder.measures import NUMERATORS
from site_builder.specs import load_specs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def spec_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the committed specs at ./report_specs of a temporary working directory."""
    shutil.copytree(ROOT / "report_specs", tmp_path / "report_specs")
    monkeypatch.chdir(tmp_path)
    return Path("report_specs")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def errors_of(directory: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_specs(directory)
    return info.value.messages


def test_committed_specs_load() -> None:
    s = load_specs(ROOT / "report_specs")
    assert [t.topic for t in s.topics] == ["enrollment", "attendance", "assessment", "graduation"]
    assert set(s.measures) == {
        "enrollment", "attendance_90_90", "chronic_absence", "proficient_or_advanced",
        "level_below_basic", "level_basic", "level_proficient", "level_advanced",
        "graduation_4yr"}
    for _, section in s.sections:
        assert set(section.levels) == {"state", "district", "school"}
        assert section.years == "all"


def test_partitions_for_disclosure() -> None:
    s = load_specs(ROOT / "report_specs")
    assert s.groups.partitions == [
        ("All", ["All students"]),
        ("Race/Ethnicity", ["American Indian or Alaska Native", "Asian", "Black", "Hispanic",
                            "Multiracial", "Pacific Islander", "White"]),
        ("Sex", ["Female", "Male"]),
        ("Program", ["English learners", "Not English learners"]),
        ("Program", ["Students with disabilities", "Students without disabilities"]),
        ("Program", ["Economically disadvantaged", "Not economically disadvantaged"]),
    ]


def test_every_field_is_documented() -> None:
    models = [v for v in vars(specs_mod).values()
              if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ ==
              specs_mod.__name__ and not v.__name__.startswith("_")]
    assert len(models) >= 10
    undocumented = [f"{m.__name__}.{name}" for m in models
                    for name, f in m.model_fields.items() if not f.description]
    assert undocumented == []
    assert all(m.__doc__ for m in models)


def test_every_numerator_is_documented_and_used() -> None:
    s = load_specs(ROOT / "report_specs")
    used = {m.numerator_name for _, m in s.measures.values()} - {None}
    assert used == set(NUMERATORS)
    assert all(n.description for n in NUMERATORS.values())


def test_unknown_measure_message_is_exact(spec_dir: Path) -> None:
    edit(spec_dir / "assessment.yaml",
         "    measure: [level_below_basic, level_basic, level_proficient, level_advanced]\n"
         "    breakdowns: [subject, grade]",
         "    measure: prof\n    breakdowns: [subject, grade]")
    assert errors_of(spec_dir) == [
        "report_specs/assessment.yaml: sections[2].measure: unknown measure 'prof' (known: "
        "proficient_or_advanced, level_below_basic, level_basic, level_proficient, "
        "level_advanced)"]


def test_every_error_is_listed_at_once(spec_dir: Path) -> None:
    edit(spec_dir / "attendance.yaml", "  - id: chronic_absence\n    label",
         "  - id: chronic_absence\n    numerator: chronic_absense\n    label")
    edit(spec_dir / "attendance.yaml", "    chart: {kind: bar, x: student_group, y: rate}\n"
         "    glossary: [attendance_90_90]",
         "    chart: {kind: pie, x: student_group, y: rate}\n    glossary: [ninety]")
    edit(spec_dir / "enrollment.yaml", "breakdowns: [Race/Ethnicity]", "breakdowns: [Race]")
    edit(spec_dir / "enrollment.yaml", "    title: Students by sex", "    titel: Students by sex")
    edit(spec_dir / "graduation.yaml", "breakdowns: [Race/Ethnicity, Sex, Program]",
         "breakdowns: [grade, Sex]")
    edit(spec_dir / "groups.yaml", "          - {label: Pacific Islander, value: PI}\n", "")
    msgs = errors_of(spec_dir)
    expected = [
        "report_specs/groups.yaml: families[1].partitions[0].groups: does not cover race PI; "
        "a partition's groups must add up to All students",
        "report_specs/enrollment.yaml: sections[3].title: Field required",
        "report_specs/enrollment.yaml: sections[3].titel: unknown field (check the spelling)",
        "report_specs/attendance.yaml: sections[0].chart.kind: Input should be 'bar', 'line' "
        "or 'stacked_bar'",
        "report_specs/graduation.yaml: sections[0].breakdowns: grade and student groups may not "
        "be crossed; make one section by grade and another by student group",
        "report_specs/graduation.yaml: sections[0].breakdowns: the graduation cohort has no "
        "grade",
    ]
    for e in expected:
        assert e in msgs, (e, msgs)
    # the file with a structural error is not cross-checked, the others are
    assert "report_specs/enrollment.yaml: sections[2].breakdowns[0]" not in "\n".join(msgs)
    # fix the structural errors: the cross-reference errors of those files appear too
    edit(spec_dir / "enrollment.yaml", "    titel: Students by sex", "    title: Students by sex")
    edit(spec_dir / "attendance.yaml", "kind: pie", "kind: bar")
    msgs = errors_of(spec_dir)
    for e in [
        "report_specs/enrollment.yaml: sections[2].breakdowns[0]: unknown breakdown 'Race' "
        "(known: subject, grade, All, Race/Ethnicity, Sex, Program)",
        "report_specs/attendance.yaml: measures[1].numerator: unknown function "
        "'chronic_absense' in site_builder/measures.py (known for enrollment: "
        "attendance_90_90, chronic_absence)",
        "report_specs/attendance.yaml: sections[0].glossary[0]: unknown glossary term 'ninety' "
        "(known: " ,
    ]:
        assert any(m.startswith(e) for m in msgs), (e, msgs)
    assert len(msgs) == 6
    assert str(SpecError(msgs)).startswith("6 errors in the report specs; nothing was computed.")


def test_broken_indentation_names_file_and_line(spec_dir: Path) -> None:
    edit(spec_dir / "graduation.yaml", "    kind: rate\n", "    kind: rate\n   oops: 1\n")
    msgs = errors_of(spec_dir)
    assert len(msgs) == 1
    # "kind: rate" is line 14 of graduation.yaml, so the badly indented line is 15
    assert msgs[0].startswith("report_specs/graduation.yaml: line 15, column 4: ")
    assert "check the indentation" in msgs[0]


def test_numerator_of_another_source(spec_dir: Path) -> None:
    edit(spec_dir / "graduation.yaml", "    kind: rate\n",
         "    kind: rate\n    numerator: attendance_90_90\n")
    assert errors_of(spec_dir) == [
        "report_specs/graduation.yaml: measures[0].numerator: 'attendance_90_90' reads "
        "enrollment, but this topic's source is graduation (known for graduation: "
        "graduation_4yr)"]


def test_assessment_needs_subject_and_known_subjects(spec_dir: Path) -> None:
    edit(spec_dir / "assessment.yaml", "subjects: [ELA,", "subjects: [Reading,")
    edit(spec_dir / "assessment.yaml", "breakdowns: [subject, grade]", "breakdowns: [grade]")
    msgs = errors_of(spec_dir)
    assert msgs == [
        "report_specs/assessment.yaml: subjects[0]: unknown subject 'Reading' (known: ELA, "
        "Math, Science, English II, Algebra I, Biology)",
        "report_specs/assessment.yaml: grade_subjects[0]: 'ELA' is not one of this topic's "
        "subjects (Reading, Math, Science, English II, Algebra I, Biology)",
        "report_specs/assessment.yaml: sections[0].breakdowns: assessment results are always "
        "by subject; add 'subject'"]


def test_eoc_subjects_are_shown_for_all_grades_only(spec_dir: Path) -> None:
    """The specs show the end-of-course tests for all grades together (grade_subjects), and
    the compute plan follows them: no cut by grade has an EOC subject's grades."""
    from site_builder import schema
    from site_builder.compute import plan_cuts

    specs = load_specs(spec_dir)
    assessment = specs.topic("assessment")
    assert assessment.by_grade_subjects == ["ELA", "Math", "Science"]
    by_grade = [c for c in plan_cuts(specs) if c.by_grade and c.source == "assessment"]
    assert by_grade and all(c.grade_subjects == ("ELA", "Math", "Science") for c in by_grade)
    assert set(schema.SUBJECTS) - set(by_grade[0].grade_subjects) == {
        "English II", "Algebra I", "Biology"}


def test_missing_directory_and_file(spec_dir: Path) -> None:
    assert errors_of(Path("nowhere"))[0].startswith("nowhere: spec directory not found")
    (spec_dir / "glossary.yaml").unlink()
    assert errors_of(spec_dir) == ["report_specs/glossary.yaml: file is missing"]
