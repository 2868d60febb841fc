"""What the site shows, read from the report specs (``site_builder.specs``).

This is the one place that knows the shape of :class:`~site_builder.specs.ReportSpecs`; the
rest of the site package uses the small, flat :class:`SiteSection` below, so a change in the
specs models touches this module only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from site_builder.specs import ReportSpecs


@dataclass(frozen=True)
class SiteMeasure:
    """One measure as the public sees it."""

    id: str
    label: str
    description: str
    kind: str
    """``count`` or ``rate``."""
    topic: str


@dataclass(frozen=True)
class SiteSection:
    """One report-card section: one table and one chart on every entity page."""

    id: str
    topic: str
    topic_title: str
    title: str
    description: str
    measures: tuple[SiteMeasure, ...]
    subjects: tuple[str, ...]
    """Subjects shown (assessment), in display order; empty outside assessment."""
    rows: str
    """What a table row is: ``year`` (a trend), ``grade`` or ``group``."""
    families: tuple[str, ...]
    """Student-group families shown when ``rows == "group"``, starting with All."""
    chart_kind: str
    """``bar``, ``line`` or ``stacked_bar``."""
    value: str
    """``n_students`` (counts) or ``rate``."""
    glossary: tuple[str, ...]

    @property
    def chart_local_only(self) -> bool:
        """Charts of counts and of level shares draw the page's own place only: a school's
        head count beside the state's is not a comparison (the table still has both)."""
        return self.chart_kind == "stacked_bar" or self.value == "n_students"


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    description: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Term:
    id: str
    term: str
    definition: str


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    description: str
    headline: tuple[SiteMeasure, ...]
    """Measures shown as five-year trends (every rate of the topic except the level shares,
    or its count)."""
    subjects: tuple[str, ...]
    has_trend_section: bool
    """True when a spec section already shows this topic by year."""


@dataclass(frozen=True)
class SiteSpecs:
    topics: tuple[Topic, ...]
    sections: tuple[SiteSection, ...]
    measures: dict[str, SiteMeasure]
    families: tuple[Family, ...]
    glossary: tuple[Term, ...]
    group_family: dict[str, str] = field(default_factory=dict)
    """student_group label -> family id."""

    def term(self, term_id: str) -> Term:
        for t in self.glossary:
            if t.id == term_id:
                return t
        raise KeyError(term_id)

    def family(self, family_id: str) -> Family:
        for f in self.families:
            if f.id == family_id:
                return f
        raise KeyError(family_id)


LEVEL_SHARE_PREFIX = "level_"
"""Achievement-level shares are details, not headlines."""


def adapt(specs: ReportSpecs) -> SiteSpecs:
    """Flatten the report specs into what the pages need, in report order."""
    measures: dict[str, SiteMeasure] = {}
    for t in specs.topics:
        for m in t.measures:
            measures[m.id] = SiteMeasure(m.id, m.label, m.description, m.kind, t.topic)
    sections = []
    topics = []
    for t in specs.topics:
        has_trend = False
        for s in t.sections:
            rows = "year" if s.chart.x == "year" else ("grade" if s.by_grade else "group")
            has_trend = has_trend or rows == "year"
            sections.append(SiteSection(
                id=s.id, topic=t.topic, topic_title=t.title, title=s.title,
                description=s.description,
                measures=tuple(measures[m] for m in s.measures),
                subjects=tuple(t.subjects) if s.by_subject else (),
                rows=rows, families=tuple(s.families), chart_kind=s.chart.kind,
                value=s.chart.y, glossary=tuple(s.glossary)))
        headline = tuple(measures[m.id] for m in t.measures
                         if not m.id.startswith(LEVEL_SHARE_PREFIX))
        topics.append(Topic(t.topic, t.title, t.description, headline, tuple(t.subjects),
                            has_trend))
    families = tuple(
        Family(f.id, f.title, f.description,
               tuple(g.label for p in f.partitions for g in p.groups))
        for f in specs.groups.families)
    group_family = {g: f.id for f in families for g in f.groups}
    glossary = tuple(Term(t.id, t.term, t.definition) for t in specs.glossary.terms)
    return SiteSpecs(tuple(topics), tuple(sections), measures, families, glossary, group_family)
