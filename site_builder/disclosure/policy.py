"""The disclosure policy (``report_specs/policy.yaml``) as a typed, self-documenting model.

:func:`load_policy` reports every problem at once, each prefixed with the file and the key,
e.g. ``report_specs/policy.yaml: coding_bands[1]: need 0 <= bottom < top <= 100``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from site_builder.errors import SpecError

DEFAULT_POLICY_PATH = Path("report_specs/policy.yaml")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CodingBand(_Model):
    """Top/bottom coding of extreme rates for denominators in ``[min_n, max_n]``."""

    min_n: int = Field(description="Smallest denominator the band applies to.")
    max_n: int | None = Field(description="Largest denominator (null: no upper limit).")
    bottom: int = Field(description="Rates at or below this percent are shown as '<=bottom%'.")
    top: int = Field(description="Rates at or above this percent are shown as '>=top%'.")

    @model_validator(mode="after")
    def _check(self) -> CodingBand:
        if self.max_n is not None and self.max_n < self.min_n:
            raise ValueError(f"max_n ({self.max_n}) is below min_n ({self.min_n})")
        if not 0 <= self.bottom < self.top <= 100:
            raise ValueError(f"need 0 <= bottom < top <= 100 (got {self.bottom}, {self.top})")
        return self


class Protection(_Model):
    """What a hidden value needs besides not being exactly recoverable."""

    min_range_primary: int = Field(
        description="A primary-suppressed count must be able to take values spread over at "
        "least this many students (max - min); coded numerators need their band's width, "
        "capped at this.")

    @field_validator("min_range_primary")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"must be at least 1 (got {v})")
        return v


class Footnotes(_Model):
    """Plain-words footnote shown under a table for each reason a value is withheld."""

    primary: str = Field(description="For a group of fewer than min_cell_size students.")
    complementary: str = Field(description="For a value hidden to protect another one.")
    top_coded: str = Field(description="For a rate shown as '>=x%'.")
    bottom_coded: str = Field(description="For a rate shown as '<=x%'.")


class Display(_Model):
    """How withheld values look on the page and in the CSV ``display`` column."""

    symbol: str = Field(description="Shown in place of a withheld number.")
    no_students: str = Field(description="Shown for a rate whose denominator is 0.")
    footnotes: Footnotes = Field(description="Footnote text per reason.")


class GroupRef(_Model):
    """One student group, named by its family and its name."""

    group_family: str = Field(description="e.g. All, Race/Ethnicity, Sex, Program.")
    student_group: str = Field(description="e.g. All students, Black, Female.")


class GroupPartition(_Model):
    """Groups of one family that together are All students (each student in exactly one)."""

    family: str = Field(description="group_family of the members.")
    members: list[str] = Field(description="student_group names; they add up to All students.")


class GradePartition(_Model):
    """Grades that add up to the all-grades row."""

    total: str = Field(description="The grade value of the all-grades row.")
    parts: list[str] = Field(description="The single grades.")


class HierarchyLink(_Model):
    """Entities of ``part_level`` add up to the entity of ``total_level``."""

    total_level: str = Field(description="state or district.")
    part_level: str = Field(description="district or school.")
    match_district: bool = Field(
        description="Parts belong to the total with the same district_code (school->district).")


class LevelPartition(_Model):
    """Numerators of these measures add up to their (shared) denominator."""

    topic: str = Field(description="Topic of the measures.")
    measures: list[str] = Field(description="Measures whose numerators partition n_students.")


class MeasureSum(_Model):
    """Numerator of ``total`` equals the sum of the numerators of ``parts``."""

    topic: str = Field(description="Topic of the measures.")
    total: str = Field(description="Measure that is the sum.")
    parts: list[str] = Field(description="Measures that add up to it.")


class PopulationBound(_Model):
    """Head counts of ``population`` are at most those of ``within`` with the same place,
    grade and group (one per subject, where the population has subjects): no student is
    tested who is not enrolled. Unlike a partition, the difference is never published, so
    the policy asks nothing of it; it only bounds what an attacker can work out."""

    population: str = Field(description="The smaller population (e.g. tested).")
    within: str = Field(description="The population it is part of (e.g. enrolled).")
    all_grades: bool = Field(
        default=False, description="Also between the all-grades rows (of every group), not "
        "only between single grades.")


MOSIS_MIN_CELL = 30
"""The smallest minimum cell size any policy may set: DESE's Data Access and Management Policy
has the MOSIS manager "block any aggregate results with a statistical cutoff in which fewer
than thirty students might be disclosed". A stricter (larger) one is allowed."""


class Policy(_Model):
    """The whole disclosure-control policy."""

    min_cell_size: int = Field(
        description="Groups of 1..min_cell_size-1 students are never published or derivable.")
    publish_zero_counts: bool = Field(
        description="Publish counts of 0 (they describe no student).")
    rate_decimals: int = Field(description="Decimals of a published percent (only 1 is supported).")
    rounding: str = Field(description="Rounding of published percents (only half_up).")
    coding_bands: list[CodingBand] = Field(description="Top/bottom coding bands by denominator.")
    protection: Protection = Field(description="Width a hidden value's feasible range needs.")
    display: Display = Field(description="How withheld values are shown.")
    populations: dict[str, str] = Field(description="Population counted by n_students, by topic.")
    count_topics: list[str] = Field(
        description="Topics whose rows are head counts; all other topics are rates.")
    all_students: GroupRef = Field(description="The group every partition adds up to.")
    group_partitions: list[GroupPartition] = Field(description="Partitions of All students.")
    grade_partition: GradePartition = Field(description="Grades that add up to all grades.")
    hierarchy: list[HierarchyLink] = Field(description="school -> district -> state sums.")
    level_partitions: list[LevelPartition] = Field(
        description="Measures whose numerators add up to the denominator.")
    measure_sums: list[MeasureSum] = Field(description="Measures that are sums of others.")
    population_bounds: list[PopulationBound] = Field(
        default_factory=list, description="Populations within others (tested within enrolled).")

    @field_validator("min_cell_size")
    @classmethod
    def _min_cell(cls, v: int) -> int:
        if v < MOSIS_MIN_CELL:
            raise ValueError(f"must be at least {MOSIS_MIN_CELL}, the MOSIS minimum: no "
                             f"published number may disclose fewer than {MOSIS_MIN_CELL} "
                             f"students (got {v}; a larger, stricter value is allowed)")
        return v

    @field_validator("rate_decimals")
    @classmethod
    def _decimals(cls, v: int) -> int:
        if v != 1:
            raise ValueError(f"only 1 is supported (got {v})")
        return v

    @field_validator("rounding")
    @classmethod
    def _rounding(cls, v: str) -> str:
        if v != "half_up":
            raise ValueError(f"only half_up is supported (got {v!r})")
        return v

    @model_validator(mode="after")
    def _bands_cover(self) -> Policy:
        bands = sorted(self.coding_bands, key=lambda b: b.min_n)
        if not bands or bands[0].min_n > self.min_cell_size:
            raise ValueError(f"coding_bands: must start at min_cell_size ({self.min_cell_size})")
        for a, b in zip(bands, bands[1:], strict=False):
            if a.max_n is None or a.max_n + 1 != b.min_n:
                raise ValueError(
                    f"coding_bands: band starting at {b.min_n} does not follow the band "
                    f"{a.min_n}-{a.max_n} (bands must be contiguous)")
        if bands[-1].max_n is not None:
            raise ValueError("coding_bands: the last band must have max_n: null")
        return self

    @model_validator(mode="after")
    def _bounds_known(self) -> Policy:
        named = set(self.populations.values())
        for i, b in enumerate(self.population_bounds):
            for field in ("population", "within"):
                if getattr(b, field) not in named:
                    raise ValueError(
                        f"population_bounds[{i}].{field}: {getattr(b, field)!r} is not a "
                        f"population of any topic (populations: {', '.join(sorted(named))})")
        return self

    def band_for(self, n: int) -> CodingBand | None:
        """The coding band for a denominator of ``n`` (None below min_cell_size)."""
        for b in self.coding_bands:
            if n >= b.min_n and (b.max_n is None or n <= b.max_n):
                return b
        return None

    def footnote(self, reason: str) -> str:
        """Plain-words footnote for a reason ('' -> '')."""
        return "" if not reason else str(getattr(self.display.footnotes, reason))


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_policy(data: Any, source: str = str(DEFAULT_POLICY_PATH)) -> Policy:
    """Validate a policy mapping; raise :class:`SpecError` listing every problem."""
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        msgs = []
        for e in err.errors():
            msg = str(e["msg"]).removeprefix("Value error, ")
            where = _loc(tuple(e["loc"]))
            if e["type"] == "int_type" or e["type"].endswith("_parsing"):
                msg += f" (got {e.get('input')!r})"
            msgs.append(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")
        raise SpecError(msgs) from None


def load_policy(path: Path | str = DEFAULT_POLICY_PATH) -> Policy:
    """Load and validate ``report_specs/policy.yaml``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError([f"{path}: file not found"]) from None
    except yaml.YAMLError as err:
        raise SpecError([f"{path}: not valid YAML: {err}"]) from None
    return parse_policy(data, str(path))
