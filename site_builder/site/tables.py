"""Accessible tables (and the rows their charts may plot) for one entity's page.

A table cell shows a published cell's ``display`` exactly; a withheld value shows the policy's
symbol and a footnote letter. The chart beside a table gets one data row per table cell that
holds a published number, and nothing else, so a chart can never show more than its table.

The page does not repeat those numbers for the chart: it carries the table's *keys* (what each
body row and each number column stands for, :attr:`Table.row_keys` / :attr:`Table.col_keys`),
and ``assets/charts.js`` reads the numbers from the table cells themselves. The chart rows that
rule yields are :attr:`Table.chart_rows` (checked against it at build time, see
``charts.rows_from_table``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from site_builder.cells import ALL_GRADES, ALL_STUDENTS
from site_builder.disclosure.policy import Policy
from site_builder.schema import GRADE_ORDER, GRADES
from site_builder.site.data import CellIndex, CellKey, Entity, Shown
from site_builder.site.sections import SiteMeasure, SiteSection, SiteSpecs, Topic

NOTE_MARKS = {"primary": "a", "complementary": "b", "top_coded": "c", "bottom_coded": "c"}
"""Footnote letter per reason (letters, not digits, so no stray number sits in a cell)."""
NO_CELL = "–"
NO_CELL_NOTE = "Not reported for this place (for example, the grade or test is not offered)."


def school_year(year: int) -> str:
    """2025 -> '2024-25'."""
    return f"{year - 1}-{str(year)[-2:]}"


_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten")


def number_word(n: int) -> str:
    """A count as a page says it ("five"): how many school years the site shows, five in
    the demo, six once a new year is published beside them."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else f"{n:,}"


def grade_label(grade: str) -> str:
    return {"PK": "Pre-K", "K": "Kindergarten", "All": "All grades"}.get(
        grade, f"Grade {int(grade)}" if grade.isdigit() else grade)


@dataclass(frozen=True)
class Place:
    """A column of numbers: the page's own entity, its district, or the state."""

    entity: Entity
    name: str
    label: str
    """Column header, e.g. 'This district' or 'Missouri'."""


@dataclass(frozen=True)
class TableCell:
    text: str
    note: str = ""
    """Footnote letter, or ''."""
    withheld: bool = False


@dataclass(frozen=True)
class TableRow:
    header: str
    cells: tuple[TableCell, ...]
    href: str = ""
    """Where the row header links to (a school's own page), or ''."""
    detail: str = ""
    """Words under the row header, in smaller type (a school's grades), or ''."""


@dataclass(frozen=True)
class RowGroup:
    header: str
    rows: tuple[TableRow, ...]


@dataclass(frozen=True)
class ColumnGroup:
    label: str
    span: int


@dataclass(frozen=True)
class Footnote:
    mark: str
    text: str


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    corner: str
    column_groups: tuple[ColumnGroup, ...]
    columns: tuple[str, ...]
    row_groups: tuple[RowGroup, ...]
    footnotes: tuple[Footnote, ...]
    chart_rows: tuple[dict[str, object], ...]
    """Data rows for the chart: one per table cell with a published number."""
    value_field: str = "rate"
    """The chart's value column: ``rate`` or ``n_students``."""
    row_keys: tuple[dict[str, object], ...] = ()
    """What each body row stands for (e.g. ``{"year": 2024}``), in table order."""
    col_keys: tuple[dict[str, object] | None, ...] = ()
    """What each number column stands for (e.g. ``{"level": "state"}``); None for a column
    the chart does not draw."""
    omitted: tuple[str, ...] = ()
    """Plain-words notes on rows left out (every value of this place hidden, or no students);
    their cells are in the CSV downloads."""

    @property
    def n_cells(self) -> int:
        return sum(len(r.cells) for g in self.row_groups for r in g.rows)

    @property
    def empty(self) -> bool:
        return not self.row_groups


class _Notes:
    """Collects the footnotes a table needs, in a fixed order."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.used: set[str] = set()

    def cell(self, shown: Shown | None) -> TableCell:
        if shown is None:
            self.used.add("none")
            return TableCell(NO_CELL, "", False)
        if shown.reason:
            mark = NOTE_MARKS.get(shown.reason, "a")
            self.used.add(shown.reason)
            return TableCell(shown.display, mark, True)
        if shown.display == self.policy.display.no_students:
            self.used.add("no_students")
        return TableCell(shown.display)

    def footnotes(self) -> tuple[Footnote, ...]:
        sym = self.policy.display.symbol
        out: list[Footnote] = []
        for reason in ("primary", "complementary", "top_coded", "bottom_coded"):
            if reason in self.used:
                mark = NOTE_MARKS[reason]
                label = f"{sym} {mark}" if reason in ("primary", "complementary") else mark
                text = self.policy.footnote(reason)
                if not any(f.text == text and f.mark == label for f in out):
                    out.append(Footnote(label, text))
        if "no_students" in self.used:
            out.append(Footnote(self.policy.display.no_students, "No students in this group."))
        if "none" in self.used:
            out.append(Footnote(NO_CELL, NO_CELL_NOTE))
        return tuple(out)


def _chart_row(place: Place, shown: Shown | None, value_field: str,
               **fields: object) -> dict[str, object] | None:
    if shown is None or shown.withheld or shown.value is None:
        return None
    row: dict[str, object] = {"level": place.entity[0], **fields}
    # The published rate has one decimal; round away binary noise (30.400000000000002).
    row[value_field] = round(shown.value, 1) if isinstance(shown.value, float) else shown.value
    return row


def _nobody(shown: Shown, policy: Policy) -> bool:
    """A published zero count, or a percent of no students."""
    return (not shown.withheld and shown.value == 0 and "%" not in shown.display) \
        or shown.display == policy.display.no_students


def _value_field(measures: tuple[SiteMeasure, ...]) -> str:
    return "n_students" if all(m.kind == "count" for m in measures) else "rate"


def section_table(section: SiteSection, specs: SiteSpecs, places: tuple[Place, ...],
                  index: CellIndex, policy: Policy) -> Table:
    """The table (and chart rows) of one spec section for the page of ``places[0]``."""
    notes = _Notes(policy)
    local = places[0]
    value_field = _value_field(section.measures)
    chart_places = places[:1] if section.chart_local_only else places
    multi = len(section.measures) > 1
    chart_rows: list[dict[str, object]] = []
    row_keys: list[dict[str, object]] = []
    groups: list[RowGroup] = []
    latest = index.latest
    hidden: list[str] = []
    nobody: list[str] = []

    def build_row(header: str, year: int, subject: str, grade: str, group: str,
                  chart_fields: dict[str, object]) -> TableRow | None:
        keys = [(year, m.id, subject, grade, group) for m in section.measures]
        own = [index.get(local.entity, k) for k in keys]
        if all(c is None for c in own):
            return None
        if grade != ALL_GRADES and all(c is None or _nobody(c, policy) for c in own):
            return None  # a grade this place does not serve
        label = f"{header} ({subject})" if subject else header
        if section.rows != "year" and (grade, group) != (ALL_GRADES, ALL_STUDENTS):
            # Rows with nothing to show for this place are named in a note, not printed as
            # a line of symbols: on small schools that is most of the page.
            if all(c is None or c.withheld for c in own):
                hidden.append(label)
                return None
            if all(c is None or _nobody(c, policy) for c in own):
                nobody.append(label)
                return None
        cells = []
        for m, key in zip(section.measures, keys, strict=True):
            for p in places:
                shown = index.get(p.entity, key)
                cells.append(notes.cell(shown))
                if p in chart_places:
                    extra = {"measure": m.id} if multi else {}
                    r = _chart_row(p, shown, value_field, **chart_fields, **extra)
                    if r is not None:
                        chart_rows.append(r)
        row_keys.append(dict(chart_fields))
        return TableRow(header, tuple(cells))

    subjects = section.subjects or ("",)
    for subject in subjects:
        sfields: dict[str, object] = {"subject": subject} if subject else {}
        if section.rows == "year":
            rows = [build_row(school_year(y), y, subject, ALL_GRADES, ALL_STUDENTS,
                              {**sfields, "year": y}) for y in index.years]
            kept = tuple(r for r in rows if r is not None)
            if kept:
                groups.append(RowGroup(subject, kept))
        elif section.rows == "grade":
            rows = [build_row(grade_label(g), latest, subject, g, ALL_STUDENTS,
                              {**sfields, "grade": g}) for g in GRADES]
            kept = tuple(r for r in rows if r is not None)
            if kept:
                groups.append(RowGroup(subject, kept))
        else:
            fam_rows: list[tuple[str, tuple[TableRow, ...]]] = []
            for fam_id in section.families:
                fam = specs.family(fam_id)
                rows = [build_row(g, latest, subject, ALL_GRADES, g,
                                  {**sfields, "student_group": g}) for g in fam.groups]
                kept = tuple(r for r in rows if r is not None)
                if kept:
                    fam_rows.append((fam.title, kept))
            if subject:
                flat = tuple(r for _t, rs in fam_rows for r in rs)
                if flat:
                    groups.append(RowGroup(subject, flat))
            else:
                for title, rs in fam_rows:
                    groups.append(RowGroup("" if title == "All students" else title, rs))

    if multi:
        col_groups = tuple(ColumnGroup(m.label, len(places)) for m in section.measures)
        columns = tuple(p.label for _m in section.measures for p in places)
    else:
        col_groups = ()
        columns = tuple(p.label for p in places)
    corner = {"year": "School year", "grade": "Grade", "group": "Student group"}[section.rows]
    when = "" if section.rows == "year" else f", {school_year(latest)}"
    caption = f"{section.title}: {local.name}{when}"
    omitted = []
    if hidden:
        omitted.append(f"Not listed because every value for {local.name} is hidden to protect "
                       f"students' privacy (fewer than {policy.min_cell_size} students, or it "
                       f"could be used to work out another hidden number): {'; '.join(hidden)}.")
    if nobody:
        omitted.append(f"Not listed because {local.name} has no students in: "
                       f"{'; '.join(nobody)}.")
    col_keys: tuple[dict[str, object] | None, ...] = tuple(
        ({"level": p.entity[0], **({"measure": m.id} if multi else {})}
         if p in chart_places else None)
        for m in section.measures for p in places)
    return Table(f"t-{section.id}", caption, corner, col_groups, columns, tuple(groups),
                 notes.footnotes(), tuple(chart_rows), value_field, tuple(row_keys), col_keys,
                 tuple(omitted))


def trend_years(table: Table) -> list[int]:
    """The school years (ending year) a :func:`trend_table` has rows for, in order."""
    return _years_of(table.row_keys)


def _years_of(row_keys: Iterable[dict[str, object]]) -> list[int]:
    return sorted({int(str(k["year"])) for k in row_keys})


def trend_table(topic: Topic, places: tuple[Place, ...], index: CellIndex,
                policy: Policy) -> Table:
    """The trend of a topic's headline measures (all students, all grades): a row for each
    year the site publishes that ``places[0]`` has the measure in (a school that opened
    has fewer)."""
    notes = _Notes(policy)
    local = places[0]
    chart_rows: list[dict[str, object]] = []
    row_keys: list[dict[str, object]] = []
    groups: list[RowGroup] = []
    series = [(m, s) for m in topic.headline for s in (topic.subjects or ("",))]
    value_field = _value_field(topic.headline)
    for m, subject in series:
        rows = []
        for y in index.years:
            key = (y, m.id, subject, ALL_GRADES, ALL_STUDENTS)
            if index.get(local.entity, key) is None:
                continue
            cells = []
            fields: dict[str, object] = {"year": y, "measure": m.id}
            if subject:
                fields["subject"] = subject
            for p in places:
                shown = index.get(p.entity, key)
                cells.append(notes.cell(shown))
                r = _chart_row(p, shown, value_field, **fields)
                if r is not None:
                    chart_rows.append(r)
            rows.append(TableRow(school_year(y), tuple(cells)))
            row_keys.append(fields)
        if rows:
            header = subject if subject else (m.label if len(series) > 1 else "")
            groups.append(RowGroup(header, tuple(rows)))
    what = topic.headline[0].label if len(topic.headline) == 1 and not topic.subjects \
        else topic.title
    years = _years_of(row_keys) or list(index.years)
    span = school_year(years[0]) if len(years) == 1 else \
        f"{school_year(years[0])} to {school_year(years[-1])}"
    caption = f"{what}, all students, {span}: {local.name}"
    return Table(f"t-trend-{topic.id}", caption, "School year", (),
                 tuple(p.label for p in places), tuple(groups), notes.footnotes(),
                 tuple(chart_rows), value_field, tuple(row_keys),
                 tuple({"level": p.entity[0]} for p in places))


@dataclass(frozen=True)
class RowPlace:
    """A row of a comparison table: a place, and how its row header reads."""

    place: Place
    href: str = ""
    detail: str = ""


def schools_table(schools: tuple[RowPlace, ...], others: tuple[RowPlace, ...],
                  topics: tuple[Topic, ...], index: CellIndex, policy: Policy) -> Table:
    """A district's schools side by side on every topic's headline measures, latest year,
    all students: one row per school, then ``others`` (the district and the state) for
    comparison. Every cell is a published cell the school's own page shows, with the same
    symbol and footnote; a measure none of the schools reports (no high school: no
    graduation rate) gets no column."""
    notes = _Notes(policy)
    latest = index.latest

    def key(m: SiteMeasure, subject: str) -> CellKey:
        return (latest, m.id, subject, ALL_GRADES, ALL_STUDENTS)

    cols = [(t, m, s) for t in topics for m in t.headline for s in (t.subjects or ("",))
            if any(index.get(r.place.entity, key(m, s)) is not None for r in schools)]
    groups: list[ColumnGroup] = []
    for t, m, _s in cols:
        label = m.label if t.subjects else t.title
        if groups and groups[-1].label == label:
            groups[-1] = ColumnGroup(label, groups[-1].span + 1)
        else:
            groups.append(ColumnGroup(label, 1))

    def row(r: RowPlace) -> TableRow:
        return TableRow(r.place.name, tuple(notes.cell(index.get(r.place.entity, key(m, s)))
                                            for _t, m, s in cols), r.href, r.detail)

    body = [RowGroup("", tuple(row(r) for r in schools))]
    if others:
        body.append(RowGroup("For comparison", tuple(row(r) for r in others)))
    return Table("t-schools", f"Schools in this district, {school_year(latest)}: all students",
                 "School", tuple(groups), tuple(s or m.label for _t, m, s in cols),
                 tuple(body) if cols and schools else (), notes.footnotes(), ())


def grades_served(low: str, high: str) -> str:
    if low not in GRADE_ORDER or high not in GRADE_ORDER:
        return "Not listed"
    return f"{grade_label(low)} to {grade_label(high).lower()}" if low != high \
        else grade_label(low)
