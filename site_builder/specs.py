"""The report specs: ``report_specs/*.yaml`` loaded into typed, self-documenting models.

One declaration drives everything: a section in a topic file names its measures, breakdowns,
levels, years, chart and glossary terms; compute derives the cells from it, disclosure reads
the group partitions from it, the site renders its table and chart from it.

Files::

    report_specs/groups.yaml       student-group families and the partitions inside them
    report_specs/glossary.yaml     plain-language terms the sections refer to
    report_specs/<topic>.yaml      one per topic: enrollment, attendance, assessment, graduation
    report_specs/policy.yaml       disclosure policy (read by site_builder.disclosure, not here)

:func:`load_specs` checks every file and reports every error at once as a
:class:`~site_builder.errors.SpecError`, each line like
``report_specs/assessment.yaml: sections[2].measure: unknown measure 'prof' (known: ...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from site_builder import schema
from site_builder.errors import SpecError
from site_builder.extract import GROUP_COLUMNS
from site_builder.measures import NUMERATORS

Level = Literal["state", "district", "school"]
ALL_LEVELS: tuple[Level, ...] = ("state", "district", "school")
Topic = Literal["enrollment", "attendance", "assessment", "graduation"]
Source = Literal["enrollment", "assessment", "graduation"]
Population = Literal["enrolled", "tested", "cohort"]
ChartAxis = Literal["year", "grade", "subject", "student_group", "group_family", "measure",
                    "level"]

TOPICS: tuple[str, ...] = ("enrollment", "attendance", "assessment", "graduation")
"""Topic files in report order; each is ``report_specs/<topic>.yaml``."""

SOURCE_COLUMNS: dict[str, frozenset[str]] = {
    "enrollment": frozenset(schema.ENROLLMENT.public_columns),
    "assessment": frozenset(schema.ASSESSMENT.public_columns) | frozenset(GROUP_COLUMNS),
    "graduation": frozenset(schema.GRADUATION.public_columns),
}
"""Columns compute can see in each source table (after the loader's allow-list)."""

CODE_SETS: dict[str, tuple[Any, ...]] = {
    "race": tuple(schema.RACES),
    "sex": tuple(schema.SEXES),
    "el": (True, False),
    "iep": (True, False),
    "ecodis": (True, False),
}
"""Every value a group column can take: a partition's groups must cover all of them."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- groups.yaml -------------------------------------------------------------------------


class StudentGroup(_Spec):
    """One student group: the students whose group column has ``value``."""

    label: str = Field(description="Public label, e.g. 'Black' or 'English learners'.")
    value: str | bool | None = Field(
        default=None,
        description="Value of the partition's column for students in this group (a code such "
                    "as BL or F, or true/false). Omitted only in the All family.")


class Partition(_Spec):
    """A set of groups that together add up to All students, each student in exactly one."""

    id: str = Field(description="Short name, e.g. race, sex, el, iep, ecodis.")
    column: str | None = Field(
        default=None,
        description="Student-group column the groups are defined on (race, sex, el, iep, "
                    "ecodis); omitted for the All family's single group.")
    groups: list[StudentGroup] = Field(
        min_length=1, description="The groups; their values must cover every code of the column.")

    @property
    def labels(self) -> list[str]:
        return [g.label for g in self.groups]


class GroupFamily(_Spec):
    """A family of student groups shown together (e.g. Program); made of one or more partitions."""

    id: str = Field(
        description="The family name used in cells' group_family, e.g. 'Race/Ethnicity'.")
    title: str = Field(description="Heading shown on the site.")
    description: str = Field(description="Plain-language explanation for the public.")
    partitions: list[Partition] = Field(
        min_length=1, description="Partitions of All students that make up the family.")

    @property
    def labels(self) -> list[str]:
        return [label for p in self.partitions for label in p.labels]


class GroupsSpec(_Spec):
    """``groups.yaml``: the student-group families."""

    families: list[GroupFamily] = Field(
        min_length=1, description="Families in display order; the first must be All.")

    @property
    def partitions(self) -> list[tuple[str, list[str]]]:
        """Every partition as ``(family, [group labels])``; each adds up to All students."""
        return [(f.id, p.labels) for f in self.families for p in f.partitions]

    @property
    def partition_specs(self) -> list[tuple[GroupFamily, Partition]]:
        """Every partition with its family, as models (column and values included)."""
        return [(f, p) for f in self.families for p in f.partitions]

    def family(self, family_id: str) -> GroupFamily:
        for f in self.families:
            if f.id == family_id:
                return f
        raise KeyError(family_id)


# --- glossary.yaml -----------------------------------------------------------------------


class GlossaryTerm(_Spec):
    """A term explained in plain language."""

    id: str = Field(description="Short id sections refer to, e.g. 'chronic_absence'.")
    term: str = Field(description="The term as shown, e.g. 'Chronic absence'.")
    definition: str = Field(description="Plain-language definition, one or two sentences.")


class GlossarySpec(_Spec):
    """``glossary.yaml``."""

    terms: list[GlossaryTerm] = Field(description="Every term, in alphabetical order of display.")


# --- <topic>.yaml ------------------------------------------------------------------------


class MeasureSpec(_Spec):
    """One measure: a count of students, or a rate (numerator over the population)."""

    id: str = Field(description="Measure name used in cells, e.g. 'attendance_90_90'.")
    label: str = Field(description="Short public label, e.g. 'Attended over 90% of days'.")
    description: str = Field(description="Plain-language definition shown beside the table.")
    kind: Literal["count", "rate"] = Field(
        description="count: n_students only. rate: n_meeting out of n_students, shown as %.")
    numerator: str | None = Field(
        default=None,
        description="Rates only: name of the function in site_builder/measures.py that selects "
                    "the students who meet the measure; defaults to the measure id.")
    higher_is_better: bool | None = Field(
        default=None, description="Direction for charts and plain-language summaries; "
                                  "null when neither (e.g. enrollment).")

    @property
    def numerator_name(self) -> str | None:
        if self.kind == "count":
            return None
        return self.numerator or self.id


class ChartSpec(_Spec):
    """How a section is charted (an accessible table is always shown beside it)."""

    kind: Literal["bar", "line", "stacked_bar"] = Field(description="Chart type.")
    x: ChartAxis = Field(description="Cell column on the x axis (or the bar categories).")
    y: Literal["n_students", "rate"] = Field(description="Plotted value: a count or a rate.")
    color: ChartAxis | None = Field(default=None, description="Cell column for colour/series.")
    facet: ChartAxis | None = Field(default=None, description="Cell column for small multiples.")
    title: str | None = Field(default=None,
                              description="Chart title; the section title if omitted.")


class SectionSpec(_Spec):
    """A report-card section: one table and one chart on every entity's page."""

    id: str = Field(description="Unique id, used in page anchors and CSV names.")
    title: str = Field(description="Heading shown on the page.")
    description: str = Field(description="Plain-language explanation shown under the heading.")
    measure: str | list[str] = Field(
        description="Measure id, or a list of them, from this file's measures.")
    breakdowns: list[str] = Field(
        default_factory=list,
        description="What the section is broken down by: 'subject', 'grade' and/or student-group "
                    "family ids from groups.yaml. Families are shown one after another, never "
                    "crossed with each other or with grade. The All students total is always "
                    "included.")
    levels: list[Level] = Field(
        default_factory=lambda: list(ALL_LEVELS),
        description="Levels the section is computed and published for.")
    years: Literal["all"] | list[int] = Field(
        default="all", description="'all' (every year in the extract) or a list of years.")
    chart: ChartSpec = Field(description="How the section is charted.")
    glossary: list[str] = Field(default_factory=list,
                                description="Ids of glossary terms explained in the section.")

    @property
    def measures(self) -> list[str]:
        return [self.measure] if isinstance(self.measure, str) else list(self.measure)

    @property
    def families(self) -> list[str]:
        """Student-group families of the section, always starting with All."""
        fams = [b for b in self.breakdowns if b not in ("subject", "grade")]
        return ["All", *[f for f in fams if f != "All"]]

    @property
    def by_grade(self) -> bool:
        return "grade" in self.breakdowns

    @property
    def by_subject(self) -> bool:
        return "subject" in self.breakdowns


class TopicSpec(_Spec):
    """``<topic>.yaml``: one topic's measures and sections."""

    topic: Topic = Field(description="Topic name; must match the file name.")
    title: str = Field(description="Topic heading on the site.")
    description: str = Field(description="Plain-language introduction to the topic.")
    source: Source = Field(description="Extract table the measures are computed from.")
    population: Population = Field(
        description="Whom n_students counts: enrolled, tested or cohort.")
    subjects: list[str] = Field(
        default_factory=list,
        description="Assessment only: subjects reported, in display order (from the MAP "
                    "subjects in site_builder.schema.SUBJECTS).")
    grade_subjects: list[str] | None = Field(
        default=None,
        description="Assessment only: the subjects a section broken down by grade shows grade "
                    "by grade; the others it shows for all grades together only (an "
                    "end-of-course test is taken in whatever grade a student takes the course). "
                    "Default: every subject.")

    @property
    def by_grade_subjects(self) -> list[str]:
        """Subjects shown grade by grade (see :attr:`grade_subjects`)."""
        return list(self.subjects) if self.grade_subjects is None else list(self.grade_subjects)
    measures: list[MeasureSpec] = Field(min_length=1, description="Measures of the topic.")
    sections: list[SectionSpec] = Field(min_length=1, description="Sections in page order.")

    def measure(self, measure_id: str) -> MeasureSpec:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(measure_id)


class ReportSpecs(_Spec):
    """Everything in ``report_specs/`` (except the disclosure policy)."""

    root: str = Field(description="Directory the specs were loaded from.")
    groups: GroupsSpec = Field(description="Student-group families and partitions.")
    glossary: GlossarySpec = Field(description="Glossary terms.")
    topics: list[TopicSpec] = Field(description="Topic specs in report order.")

    def topic(self, name: str) -> TopicSpec:
        for t in self.topics:
            if t.topic == name:
                return t
        raise KeyError(name)

    @property
    def measures(self) -> dict[str, tuple[TopicSpec, MeasureSpec]]:
        """Every measure by id, with its topic."""
        return {m.id: (t, m) for t in self.topics for m in t.measures}

    @property
    def sections(self) -> list[tuple[TopicSpec, SectionSpec]]:
        return [(t, s) for t in self.topics for s in t.sections]


# --- loading and checking ----------------------------------------------------------------


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _pydantic_messages(name: str, err: ValidationError) -> list[str]:
    msgs = []
    for e in err.errors():
        # Union fields (str | list[str]) add the tried type to the location; drop it.
        loc = tuple(p for p in e["loc"] if p not in ("str", "list[str]", "literal['all']",
                                                     "list[int]", "bool"))
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field (check the spelling)"
        msgs.append(f"{name}: {_path(loc)}: {msg}" if loc else f"{name}: {msg}")
    return sorted(set(msgs), key=msgs.index)


def _read_yaml(path: Path, name: str, errors: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = exc.problem or exc.context or "invalid YAML"
        errors.append(f"{name}: {where}: invalid YAML: {problem} (check the indentation)")
    except yaml.YAMLError as exc:
        errors.append(f"{name}: invalid YAML: {exc}")
    return None


def _known(names: list[str] | set[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def _check_groups(name: str, groups: GroupsSpec) -> list[str]:
    errs = []
    if groups.families[0].id != "All":
        errs.append(f"{name}: families[0].id: the first family must be All (All students)")
    seen_fam: set[str] = set()
    seen_labels: set[str] = set()
    for i, fam in enumerate(groups.families):
        if fam.id in seen_fam:
            errs.append(f"{name}: families[{i}].id: duplicate family {fam.id!r}")
        seen_fam.add(fam.id)
        for j, part in enumerate(fam.partitions):
            where = f"{name}: families[{i}].partitions[{j}]"
            for k, g in enumerate(part.groups):
                if g.label in seen_labels:
                    errs.append(f"{where}.groups[{k}].label: duplicate group label {g.label!r}")
                seen_labels.add(g.label)
            if part.column is None:
                if fam.id != "All" or len(part.groups) != 1:
                    errs.append(f"{where}.column: only the All family may omit the column "
                                f"(known columns: {_known(set(CODE_SETS))})")
                continue
            if part.column not in CODE_SETS:
                errs.append(f"{where}.column: unknown group column {part.column!r} "
                            f"(known: {_known(set(CODE_SETS))})")
                continue
            codes = CODE_SETS[part.column]
            values = [g.value for g in part.groups]
            for k, v in enumerate(values):
                if v not in codes or type(v) is not type(codes[0]):
                    errs.append(f"{where}.groups[{k}].value: {v!r} is not a value of "
                                f"{part.column} (known: {', '.join(map(str, codes))})")
                elif values.index(v) != k:
                    errs.append(f"{where}.groups[{k}].value: {v!r} is in two groups")
            missing = [str(c) for c in codes if c not in values]
            if missing:
                errs.append(f"{where}.groups: does not cover {part.column} "
                            f"{', '.join(missing)}; a partition's groups must add up to All "
                            f"students")
    if groups.families and groups.families[0].id == "All":
        labels = groups.families[0].labels
        if labels != ["All students"]:
            errs.append(f"{name}: families[0]: the All family has one group, 'All students'")
    return errs


def _check_topic(name: str, t: TopicSpec, groups: GroupsSpec | None,
                 glossary: GlossarySpec | None) -> list[str]:
    errs = []
    if Path(name).stem != t.topic:
        errs.append(f"{name}: topic: {t.topic!r} does not match the file name")
    measure_ids = [m.id for m in t.measures]
    for i, m in enumerate(t.measures):
        if measure_ids.index(m.id) != i:
            errs.append(f"{name}: measures[{i}].id: duplicate measure {m.id!r}")
        if m.kind == "count" and m.numerator is not None:
            errs.append(f"{name}: measures[{i}].numerator: a count has no numerator")
        fn = m.numerator_name
        if fn is None:
            continue
        known = sorted(n for n, f in NUMERATORS.items() if f.source == t.source)
        if fn not in NUMERATORS:
            errs.append(f"{name}: measures[{i}].numerator: unknown function {fn!r} in "
                        f"site_builder/measures.py (known for {t.source}: {_known(known)})")
        elif NUMERATORS[fn].source != t.source:
            errs.append(f"{name}: measures[{i}].numerator: {fn!r} reads "
                        f"{NUMERATORS[fn].source}, but this topic's source is {t.source} "
                        f"(known for {t.source}: {_known(known)})")
    if t.topic == "assessment" or t.subjects:
        if t.source != "assessment":
            errs.append(f"{name}: subjects: only an assessment topic has subjects")
        if not t.subjects:
            errs.append(f"{name}: subjects: list the subjects to report "
                        f"(known: {', '.join(schema.SUBJECTS)})")
        for k, subj in enumerate(t.subjects):
            if subj not in schema.SUBJECTS:
                errs.append(f"{name}: subjects[{k}]: unknown subject {subj!r} "
                            f"(known: {', '.join(schema.SUBJECTS)})")
    for k, subj in enumerate(t.grade_subjects or []):
        if subj not in t.subjects:
            errs.append(f"{name}: grade_subjects[{k}]: {subj!r} is not one of this topic's "
                        f"subjects ({', '.join(t.subjects) or 'none'})")
    families = [f.id for f in groups.families] if groups else None
    terms = [g.id for g in glossary.terms] if glossary else None
    section_ids = [s.id for s in t.sections]
    for i, s in enumerate(t.sections):
        where = f"{name}: sections[{i}]"
        if section_ids.index(s.id) != i:
            errs.append(f"{where}.id: duplicate section {s.id!r}")
        for k, mid in enumerate(s.measures):
            loc = "measure" if isinstance(s.measure, str) else f"measure[{k}]"
            if mid not in measure_ids:
                errs.append(f"{where}.{loc}: unknown measure {mid!r} (known: "
                            f"{', '.join(measure_ids)})")
        for k, b in enumerate(s.breakdowns):
            if b in ("subject", "grade"):
                continue
            if families is not None and b not in families:
                errs.append(f"{where}.breakdowns[{k}]: unknown breakdown {b!r} (known: "
                            f"subject, grade, {', '.join(families)})")
        if s.by_grade and len(s.families) > 1:
            errs.append(f"{where}.breakdowns: grade and student groups may not be crossed; "
                        f"make one section by grade and another by student group")
        if s.by_grade and t.source == "graduation":
            errs.append(f"{where}.breakdowns: the graduation cohort has no grade")
        if t.source == "assessment" and not s.by_subject:
            errs.append(f"{where}.breakdowns: assessment results are always by subject; "
                        f"add 'subject'")
        if s.by_subject and t.source != "assessment":
            errs.append(f"{where}.breakdowns: only assessment results have a subject")
        if len(set(s.levels)) != len(s.levels) or not s.levels:
            errs.append(f"{where}.levels: list each of state, district, school at most once")
        if terms is not None:
            for k, term in enumerate(s.glossary):
                if term not in terms:
                    errs.append(f"{where}.glossary[{k}]: unknown glossary term {term!r} "
                                f"(known: {_known(terms)})")
    return errs


def load_specs(directory: Path | str = "report_specs") -> ReportSpecs:
    """Load and check every spec file in ``directory``; raise SpecError listing every error."""
    root = Path(directory)
    errors: list[str] = []
    if not root.is_dir():
        raise SpecError([f"{root}: spec directory not found (expected report_specs/ with "
                         f"groups.yaml, glossary.yaml and {', '.join(TOPICS)} .yaml files)"])

    def load(stem: str, model: type[_Spec]) -> Any:
        path = root / f"{stem}.yaml"
        name = str(path)
        if not path.exists():
            errors.append(f"{name}: file is missing")
            return None
        data = _read_yaml(path, name, errors)
        if data is None:
            if path.read_text(encoding="utf-8").strip() == "":
                errors.append(f"{name}: file is empty")
            return None
        if not isinstance(data, dict):
            errors.append(f"{name}: expected a mapping at the top level")
            return None
        try:
            return model.model_validate(data)
        except ValidationError as err:
            errors.extend(_pydantic_messages(name, err))
            return None

    groups = load("groups", GroupsSpec)
    if groups is not None:
        errors.extend(_check_groups(str(root / "groups.yaml"), groups))
    glossary = load("glossary", GlossarySpec)
    if glossary is not None:
        ids = [g.id for g in glossary.terms]
        errors.extend(f"{root / 'glossary.yaml'}: terms[{i}].id: duplicate term {t!r}"
                      for i, t in enumerate(ids) if ids.index(t) != i)
    topics: list[TopicSpec] = []
    for stem in TOPICS:
        t = load(stem, TopicSpec)
        if t is not None:
            errors.extend(_check_topic(str(root / f"{stem}.yaml"), t, groups, glossary))
            topics.append(t)
    known_files = {"groups", "glossary", "policy", *TOPICS}
    for extra in sorted(root.glob("*.y*ml")):
        if extra.stem not in known_files:
            errors.append(f"{extra}: unknown spec file (known: "
                          f"{', '.join(sorted(f + '.yaml' for f in known_files))})")
    all_measures = [m.id for t in topics for m in t.measures]
    dup = sorted({m for m in all_measures if all_measures.count(m) > 1})
    if dup:
        errors.append(f"{root}: measure ids must be unique across topics: {', '.join(dup)}")
    all_sections = [s.id for t in topics for s in t.sections]
    dup_s = sorted({s for s in all_sections if all_sections.count(s) > 1})
    if dup_s:
        errors.append(f"{root}: section ids must be unique across topics: {', '.join(dup_s)}")
    if errors:
        raise SpecError(errors)
    assert groups is not None and glossary is not None
    return ReportSpecs(root=str(root), groups=groups, glossary=glossary, topics=topics)
