"""Typed page contexts: one dataclass per page type, handed whole to its Jinja template.

Templates run with ``StrictUndefined``: a field missing here is a build error naming the
template and the variable, never an empty string on a public page.
"""

from __future__ import annotations

from dataclasses import dataclass

from site_builder.site.tables import Table

STATE_RUN = "Run by the state"
"""In place of a county, for the LEAs the state runs itself."""


@dataclass(frozen=True)
class Link:
    text: str
    href: str


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    href: str = ""


@dataclass(frozen=True)
class Chart:
    id: str
    spec_json: str
    alt: str
    """Text alternative: what the chart shows, in words."""


@dataclass(frozen=True)
class SectionBlock:
    id: str
    title: str
    description: str
    table: Table
    chart: Chart | None
    terms: tuple[Link, ...]


@dataclass(frozen=True)
class TopicBlock:
    id: str
    title: str
    description: str
    blocks: tuple[SectionBlock, ...]


@dataclass(frozen=True)
class Page:
    """What every page has."""

    title: str
    root: str
    """Relative path from this page to the site root ('' or '../../')."""


@dataclass(frozen=True)
class StatePage(Page):
    facts: tuple[Fact, ...]
    topics: tuple[TopicBlock, ...]
    symbol: str
    download: Link


@dataclass(frozen=True)
class DistrictPage(Page):
    code: str
    facts: tuple[Fact, ...]
    topics: tuple[TopicBlock, ...]
    schools: tuple[Link, ...]
    """Its schools with students in the latest year (listed when ``compare`` is empty)."""
    compare: Table
    """The schools side by side on the headline measures (:func:`tables.schools_table`)."""
    compare_year: str
    symbol: str
    download: Link
    county: str
    """As :func:`pages.county_label` names it ("Boone County"; empty if not known)."""
    no_students: tuple[Link, ...]
    """Its schools with no students in the latest year (left out of ``compare``)."""
    notice: str
    """Why the page's latest-year tables are empty ("" when they are not)."""

    @property
    def state_run(self) -> bool:
        """An LEA the state runs itself (no county)."""
        return self.county == STATE_RUN


@dataclass(frozen=True)
class SchoolPage(Page):
    code: str
    facts: tuple[Fact, ...]
    topics: tuple[TopicBlock, ...]
    district: Link
    district_schools: int
    """How many schools its district's table compares, this one among them (0 when this
    school has no students in the latest year: the district names it below the table)."""
    symbol: str
    download: Link
    notice: str
    """Why the page's latest-year tables are empty ("" when they are not)."""


@dataclass(frozen=True)
class County:
    name: str
    anchor: str
    districts: tuple[Link, ...]


@dataclass(frozen=True)
class HomePage(Page):
    year_label: str
    counties: tuple[County, ...]
    glance: Table
    n_districts: int
    n_schools: int
    years_shown: str
    """How many school years a page shows at most, in words ("up to five years")."""
    search_index: str
    """Relative URL of the compact search index."""


@dataclass(frozen=True)
class MeasureDefinition:
    label: str
    topic: str
    kind: str
    description: str


@dataclass(frozen=True)
class CodingBandText:
    students: str
    shown_as: str


@dataclass(frozen=True)
class MethodologyPage(Page):
    measures: tuple[MeasureDefinition, ...]
    min_cell: int
    symbol: str
    footnotes: tuple[Fact, ...]
    bands: tuple[CodingBandText, ...]
    years: str
    families: tuple[Fact, ...]


@dataclass(frozen=True)
class PrivacyPage(Page):
    min_cell: int


@dataclass(frozen=True)
class GlossaryPage(Page):
    terms: tuple[Fact, ...]
    """label = term, value = definition, href = anchor id."""


@dataclass(frozen=True)
class DownloadFile:
    href: str
    name: str
    description: str
    size: str


@dataclass(frozen=True)
class DownloadsPage(Page):
    general: tuple[DownloadFile, ...]
    districts: tuple[DownloadFile, ...]
    columns: tuple[Fact, ...]
