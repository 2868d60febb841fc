"""Page contexts for the state, a district and a school (the ~3,000 entity pages)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from site_builder.cells import ALL_GRADES, ALL_STUDENTS
from site_builder.disclosure.policy import Policy
from site_builder.site import charts
from site_builder.site.contexts import (
    STATE_RUN,
    Chart,
    Fact,
    Link,
    SectionBlock,
    TopicBlock,
)
from site_builder.site.data import STATE, CellIndex, Entity
from site_builder.site.sections import SiteSection, SiteSpecs, Topic
from site_builder.site.tables import (
    Place,
    RowPlace,
    Table,
    grades_served,
    number_word,
    school_year,
    schools_table,
    section_table,
    trend_table,
    trend_years,
)

LEA_KINDS = {"district": "Public school district", "charter": "Charter school (its own LEA)",
             "special": "Special district"}
SCHOOL_KINDS = {"elementary": "Elementary school", "middle": "Middle school",
                "high": "High school", "k12": "K-12 school", "other": "Other school"}
STATE_NAME = "Missouri"
CHART_WORDS = {"bar": "Bar chart", "line": "Line chart", "stacked_bar": "Stacked bar chart"}


def county_label(name: str) -> str:
    """A district's county as the site names it: "Boone County", and St. Louis City (an
    independent city, in no county) as itself; STATE_RUN for the LEAs the state runs
    itself, whose county DESE gives as a note in brackets ("(statewide: Division of Youth
    Services)"); empty if not known."""
    if not name:
        return ""
    if name.startswith("("):
        return STATE_RUN
    return name if name.endswith(" City") else f"{name} County"


def _not_drawn(table: Table) -> str:
    """What the chart leaves out, in words: a withheld value, or a rate shown only as a band
    (such as ≥95%), has no bar or point; the table marks each one."""
    n = sum(1 for g in table.row_groups for r in g.rows
            for cell, col in zip(r.cells, table.col_keys, strict=True)
            if col is not None and cell.withheld)
    if not n:
        return ""
    what = "value is" if n == 1 else "values are"
    return (f" {n} {what} withheld or shown only as a range, and not drawn: "
            "see the table and its notes.")


def rel_root(depth: int) -> str:
    return "../" * depth


@dataclass
class PageKit:
    """What every entity page is rendered from, plus the per-build chart template cache."""

    specs: SiteSpecs
    index: CellIndex
    policy: Policy
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Chart templates by name, written to ``assets/charts/<name>.json``."""

    def _template(self, key: str, places: tuple[Place, ...], make: Any) -> str:
        """Name of the shared chart template (built on first use)."""
        name = f"{key}--{'-'.join(p.entity[0] for p in places)}"
        if name not in self.templates:
            self.templates[name] = make()
        return name

    def _chart(self, cid: str, table: Table, template: str, alt: str) -> Chart | None:
        spec = charts.with_data(template, table)
        if spec is None:
            return None
        return Chart(cid, charts.spec_json(spec), alt + _not_drawn(table))

    def topics(self, places: tuple[Place, ...], root: str,
               breakdown_places: tuple[Place, ...] | None = None) -> tuple[TopicBlock, ...]:
        """Every topic's blocks. Trends compare all ``places``; breakdowns (the big tables)
        compare ``breakdown_places`` (a school page: the school and the state)."""
        out = []
        who = " and ".join(p.name for p in places)
        narrow = breakdown_places or places
        for topic in self.specs.topics:
            blocks = []
            if not topic.has_trend_section:
                blocks.append(self._trend_block(topic, places, who))
            for s in (s for s in self.specs.sections if s.topic == topic.id):
                blocks.append(self._section_block(s, places if s.rows == "year" else narrow,
                                                  root, who))
            out.append(TopicBlock(topic.id, topic.title, _topic_description(topic), tuple(blocks)))
        return tuple(out)

    def _trend_block(self, topic: Topic, places: tuple[Place, ...], who: str) -> SectionBlock:
        table = trend_table(topic, places, self.index, self.policy)
        # The years the table shows: the site's, or fewer for a school that opened or closed.
        years = trend_years(table) or self.index.years
        first, last = school_year(years[0]), school_year(years[-1])
        when = f"from {first} to {last}" if len(years) > 1 else f"in {first}"
        what = topic.title[:1].lower() + topic.title[1:]  # "test results (MAP)"
        alt = _full_stop(f"Line chart of {what} {when}, all students, for {who}")
        template = self._template(f"trend-{topic.id}", places, lambda: charts.trend_template(
            topic, places, alt, self.specs.measures))
        measures = ", ".join(m.label.lower() for m in topic.headline)
        return SectionBlock(
            f"trend-{topic.id}",
            f"{topic.title}: {number_word(len(years))}-year trend" if len(years) > 1
            else f"{topic.title}: {first}",
            f"{measures[0].upper() + measures[1:]} for all students, "
            f"{'each year ' if len(years) > 1 else ''}{when}.", table,
            self._chart(f"c-trend-{topic.id}", table, template, alt), ())

    def _section_block(self, s: SiteSection, places: tuple[Place, ...], root: str,
                       _who: str) -> SectionBlock:
        table = section_table(s, self.specs, places, self.index, self.policy)
        drawn = places[:1] if s.chart_local_only else places
        what = {"year": "by school year", "grade": "by grade",
                "group": "by student group"}[s.rows]
        if what.split()[-1] in s.title.lower():
            what = ""
        alt = _full_stop(f"{CHART_WORDS.get(s.chart_kind, 'Chart')} of {s.title.lower()}"
                         f"{', ' + what if what else ''}"
                         f"{', one panel per subject' if s.subjects else ''}, for "
                         f"{' and '.join(p.name for p in drawn)}")
        template = self._template(s.id, places,
                                  lambda: charts.section_template(s, places, alt))
        terms = tuple(Link(self.specs.term(t).term, f"{root}glossary/#{t}")
                      for t in s.glossary if any(x.id == t for x in self.specs.glossary))
        return SectionBlock(s.id, s.title, s.description, table,
                            self._chart(f"c-{s.id}", table, template, alt), terms)

    def enrollment(self, entity: Entity) -> str:
        shown = self.index.get(entity, (self.index.latest, "enrollment", "", ALL_GRADES,
                                        ALL_STUDENTS))
        if shown is None:
            span = self.index.span(entity)
            if span is None:
                return "None reported"
            if span[1] < self.index.latest:
                return f"None reported (its last year with students: {school_year(span[1])})"
            return "Not reported"
        if shown.withheld:
            return f"{shown.display} ({self.policy.footnote(shown.reason)})"
        return shown.display


def _full_stop(text: str) -> str:
    """``text`` as a sentence: a full stop at its end, unless it ends with one already (a
    name such as "Avenue City Elem.")."""
    return text if text.endswith(".") else text + "."


def _topic_description(topic: Topic) -> str:
    return topic.description


def _years_text(span: tuple[int, int]) -> str:
    """(2021, 2025) -> "2020-21 to 2024-25"; one year as itself."""
    first, last = (school_year(y) for y in span)
    return first if first == last else f"{first} to {last}"


def years_fact(kit: PageKit, entity: Entity) -> tuple[Fact, ...]:
    """"Years with students", where a place has fewer than the site (a school that opened
    or closed, a district that merged): the trends then show only those years."""
    span = kit.index.span(entity)
    years = kit.index.years
    if span is None or span == (years[0], years[-1]):
        return ()
    return (Fact("Years with students", _years_text(span)),)


def no_students_notice(kit: PageKit, entity: Entity, name: str, kind: str) -> str:
    """Why a page of a place with no students in the latest year has empty tables ("" for a
    place that has some): a school that closed, or has not reported this year, keeps its
    page and its earlier years."""
    if kit.index.has_latest(entity):
        return ""
    year = school_year(kit.index.latest)
    span = kit.index.span(entity)
    if span is None:
        return (f"No students are reported at {name} in any year shown here (from "
                f"{school_year(kit.index.years[0])} to {year}), so this page has no numbers.")
    whose = "its district's" if kind == "school" else "its"
    return (f"No students were reported at {name} in {year} (for example, the {kind} has "
            f"closed, or has not reported this year). The tables of {year} below are empty; "
            f"the trends show its years with students, {_years_text(span)}, and {whose} "
            "download file holds all its published numbers.")


def state_places() -> tuple[Place, ...]:
    return (Place(STATE, STATE_NAME, STATE_NAME),)


def district_places(code: str, name: str) -> tuple[Place, ...]:
    return (Place(("district", code, ""), name, "This district"),
            Place(STATE, STATE_NAME, STATE_NAME))


def school_places(dcode: str, scode: str, sname: str, dname: str) -> tuple[Place, ...]:
    return (Place(("school", dcode, scode), sname, "This school"),
            Place(("district", dcode, ""), dname, "District"),
            Place(STATE, STATE_NAME, STATE_NAME))


def district_facts(kit: PageKit, d: dict[str, str], n_schools: int,
                   n_without: int = 0) -> tuple[Fact, ...]:
    """``n_schools``: its schools with students in the latest year; ``n_without``: those
    with none (closed, say), whose pages stay."""
    year = school_year(kit.index.latest)
    if n_schools or not n_without:
        schools = str(n_schools) + (f", and {n_without} with no students in {year}"
                                    if n_without else "")
    else:  # every school closed, or merged into another district
        schools = f"None with students in {year} ({n_without} listed below)"
    return (
        Fact(f"Students enrolled, {year}", kit.enrollment(("district", d["district_code"], ""))),
        Fact("Grades served", grades_served(d["low_grade"], d["high_grade"])),
        Fact("County", county_label(d["county_name"])),
        Fact("Kind", LEA_KINDS.get(d["lea_kind"], d["lea_kind"])),
        Fact("Schools", schools),
        *years_fact(kit, ("district", d["district_code"], "")),
        Fact("District code", d["district_code"]),
    )


def compare_schools(kit: PageKit, places: tuple[Place, ...], schools: list[dict[str, str]],
                    links: tuple[Link, ...]) -> Table:
    """A district page's table of its schools side by side (``places``: the district's, as
    :func:`district_places` gives them; ``links``: each school's page, in ``schools``' order),
    with the whole district and the state below them."""
    rows = tuple(RowPlace(Place(("school", s["district_code"], s["school_code"]),
                                s["school_name"], s["school_name"]),
                          link.href, grades_served(s["low_grade"], s["high_grade"]))
                 for s, link in zip(schools, links, strict=True))
    district, state = places
    others = (RowPlace(Place(district.entity, "Whole district", district.label)),
              RowPlace(Place(state.entity, f"{STATE_NAME} (whole state)", state.label)))
    return schools_table(rows, others, kit.specs.topics, kit.index, kit.policy)


def school_facts(kit: PageKit, s: dict[str, str], d: dict[str, str],
                 district_href: str) -> tuple[Fact, ...]:
    year = school_year(kit.index.latest)
    ent = ("school", s["district_code"], s["school_code"])
    return (
        Fact(f"Students enrolled, {year}", kit.enrollment(ent)),
        Fact("Grades served", grades_served(s["low_grade"], s["high_grade"])),
        Fact("Kind", SCHOOL_KINDS.get(s["school_kind"], s["school_kind"])),
        Fact("District", d.get("district_name", s["district_code"]), district_href),
        Fact("County", county_label(d.get("county_name", ""))),
        *years_fact(kit, ent),
        Fact("School code", f"{s['district_code']}-{s['school_code']}"),
    )


def state_facts(kit: PageKit, n_districts: int, n_schools: int) -> tuple[Fact, ...]:
    year = school_year(kit.index.latest)
    return (
        Fact(f"Students enrolled, {year}", kit.enrollment(STATE)),
        Fact("Districts and charter LEAs", f"{n_districts:,}"),
        Fact("Schools", f"{n_schools:,}"),
        Fact("School years shown", f"{school_year(kit.index.years[0])} to {year}"),
    )
