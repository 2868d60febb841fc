"""Reading an extract: file discovery and the PII allow-list.

:func:`load_extract` is the only door from restricted student files into the rest of the
package. It keeps the allow-listed columns of each file (see ``schema.FileSpec.public_columns``)
and joins each test result to its student's enrollment record for the student-group columns;
after that ``student_id`` is dropped too. No code after the loader can see names, birth dates,
SSNs or student IDs.

Validation (``site_builder.contract``) runs before loading; the loader itself assumes a valid
extract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from site_builder import schema
from site_builder.errors import InputError, Problem

GROUP_COLUMNS: tuple[str, ...] = ("sex", "race", "el", "iep", "ecodis")
"""Student-group columns carried from enrollment onto each test result."""

_YEAR_DIR = re.compile(r"^\d{4}$")


def find_file(directory: Path, stem: str) -> Path | None:
    """``enrollment`` -> ``directory/enrollment.parquet`` (preferred) or ``.csv``."""
    for suffix in (".parquet", ".csv"):
        p = directory / f"{stem}{suffix}"
        if p.exists():
            return p
    return None


def extract_years(root: Path) -> tuple[int, ...]:
    """The school years present in an extract: its 4-digit subdirectories."""
    if not root.is_dir():
        return ()
    return tuple(sorted(int(p.name) for p in root.iterdir()
                        if p.is_dir() and _YEAR_DIR.match(p.name)))


def scan_file(path: Path, spec: schema.FileSpec, *, include_pii: bool = False) -> pl.LazyFrame:
    """Lazily read one extract file with its declared types, PII dropped unless asked for."""
    types = spec.polars_schema(include_pii=True)
    if path.suffix == ".csv":
        lf = pl.scan_csv(path, schema_overrides=types, try_parse_dates=False)
    else:
        lf = pl.scan_parquet(path)
    keep = spec.column_names if include_pii else spec.public_columns
    return lf.select([pl.col(c).cast(types[c]) for c in keep])


@dataclass(frozen=True)
class Extract:
    """A loaded extract, with no PII: lazy frames ready for aggregation."""

    root: Path
    years: tuple[int, ...]
    districts: pl.DataFrame
    schools: pl.DataFrame
    enrollment: pl.LazyFrame
    """One row per student-year; no student_id."""
    assessment: pl.LazyFrame
    """One row per test result, with the student's group columns from enrollment."""
    graduation: pl.LazyFrame
    """One row per cohort member, with outcome and group columns."""


def load_extract(root: Path, years: tuple[int, ...] | None = None) -> Extract:
    """Load an extract's allow-listed columns as lazy frames.

    ``years`` limits the load to those years; by default every year directory is read.
    """
    root = Path(root)
    available = extract_years(root)
    years = tuple(sorted(years)) if years else available
    missing = [y for y in years if y not in available]
    if missing or not years:
        raise InputError([Problem(
            file=str(root),
            rule=f"no year directory for {', '.join(map(str, missing)) or 'any year'}",
            hint="an extract holds one directory per school year, e.g. data/extract/2024/; "
                 "run `reportcard synth --out data/extract` to make a demo extract")])

    def directory(spec: schema.FileSpec) -> pl.DataFrame:
        path = find_file(root / "directory", spec.name)
        if path is None:
            raise InputError([Problem(file=str(root / "directory" / f"{spec.name}.csv"),
                                      rule="file is missing",
                                      hint="the extract needs its LEA and school directory")])
        return scan_file(path, spec).collect()

    def per_year(spec: schema.FileSpec, *, include_id: bool) -> pl.LazyFrame:
        frames = []
        for y in years:
            path = find_file(root / str(y), spec.name)
            if path is None:
                raise InputError([Problem(file=str(root / str(y) / f"{spec.name}.parquet"),
                                          rule="file is missing")])
            lf = scan_file(path, spec, include_pii=include_id)
            if include_id:
                lf = lf.drop([c for c in spec.pii_columns if c != "student_id"])
            frames.append(lf)
        return pl.concat(frames, how="vertical")

    enrollment_ids = per_year(schema.ENROLLMENT, include_id=True)
    assessment_ids = per_year(schema.ASSESSMENT, include_id=True)
    groups = enrollment_ids.select(["year", "student_id", *GROUP_COLUMNS])
    assessment = assessment_ids.join(groups, on=["year", "student_id"], how="inner").drop(
        "student_id")

    return Extract(
        root=root,
        years=years,
        districts=directory(schema.DISTRICTS),
        schools=directory(schema.SCHOOLS),
        enrollment=enrollment_ids.drop("student_id"),
        assessment=assessment,
        graduation=per_year(schema.GRADUATION, include_id=False),
    )
