"""The input contract, enforced: check a student-level extract against ``schema.py``.

:func:`validate_extract` runs before anything reads an extract (``reportcard validate`` and
the start of every compute). It reads every file once, collects *every* problem, and raises
one :class:`~site_builder.errors.InputError` listing them all if any is an error, so nothing
downstream runs on a bad extract. Warnings (plausibility, a UTF-8 byte-order mark) are
returned on the :class:`ValidationReport` and printed by :meth:`ValidationReport.summary`.

What is checked, and where:

* ``read.py``: missing, empty, unreadable or truncated files; CSV delimiter, encoding (bytes
  that are not UTF-8 are an error naming byte offset, line, row and column; a UTF-8 BOM is
  accepted with a warning); missing and unexpected columns; values of the wrong type;
  missing values in non-nullable columns.
* ``rules.py``: code sets, patterns, min/max and unique keys, all read from ``schema.py``.
* ``relations.py``: mixed years, the district and school directory, grade spans, attendance
  against enrollment, tests for students not enrolled or in a grade the subject is not
  given in, and the year-to-year plausibility warning.

Messages never show values of PII columns (names, student IDs, birth dates, SSNs); they show
row numbers instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from site_builder import schema
from site_builder.contract import relations
from site_builder.contract.read import ReadResult, check_layout, read_file, year_dir_names
from site_builder.contract.rules import check_file
from site_builder.errors import InputError, Problem
from site_builder.extract import find_file

COUNT_WORDS: dict[str, str] = {
    "enrollment": "students",
    "assessment": "test results",
    "graduation": "cohort members",
}


@dataclass
class ValidationReport:
    """What :func:`check_extract` found: problems, plus counts for the summary and notebook."""

    root: Path
    years: tuple[int, ...] = ()
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    """Rows per year and file: ``{2024: {"enrollment": 868412, ...}}``."""
    districts: int = 0
    schools: int = 0
    problems: list[Problem] = field(default_factory=list)
    district_sizes: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Students per district and year: ``year, district_code, students``."""
    missing_values: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Missing values per file and column: ``file, year, column, rows, missing``."""
    seconds: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts_frame(self) -> pl.DataFrame:
        """``year, file, rows``: one row per year file read."""
        rows = [{"year": y, "file": f, "rows": n}
                for y, per in sorted(self.counts.items()) for f, n in per.items()]
        return pl.DataFrame(rows, schema={"year": pl.Int64, "file": pl.String,
                                          "rows": pl.Int64})

    def problems_frame(self) -> pl.DataFrame:
        """Every problem as a row, for a notebook table."""
        rows = [{"severity": p.severity, "file": p.file, "row": p.row, "key": p.key,
                 "column": p.column, "rule": p.rule, "count": p.count or 1,
                 "examples": ", ".join(map(str, p.examples)), "hint": p.hint or ""}
                for p in self.problems]
        return pl.DataFrame(rows, schema={
            "severity": pl.String, "file": pl.String, "row": pl.Int64, "key": pl.String,
            "column": pl.String, "rule": pl.String, "count": pl.Int64, "examples": pl.String,
            "hint": pl.String})

    def summary(self) -> str:
        """The extract in a few lines, then every warning and error."""
        span = f"{self.years[0]}-{self.years[-1]}" if len(self.years) > 1 else \
            "".join(map(str, self.years))
        lines = [f"Extract {self.root}: {len(self.years)} year{'s' if len(self.years) != 1 else ''}"
                 f"{' (' + span + ')' if span else ''}, {self.districts:,} districts, "
                 f"{self.schools:,} schools"]
        for y in self.years:
            per = self.counts.get(y, {})
            parts = [f"{per[f]:,} {w}" for f, w in COUNT_WORDS.items() if f in per]
            lines.append(f"  {y}: {', '.join(parts) if parts else 'no readable files'}")
        n_err, n_warn = len(self.errors), len(self.warnings)
        if not n_err and not n_warn:
            lines.append(f"The extract meets the contract (checked in {self.seconds:.1f}s).")
        else:
            lines.append(f"{n_err} error{'s' if n_err != 1 else ''}, {n_warn} "
                         f"warning{'s' if n_warn != 1 else ''} (checked in {self.seconds:.1f}s):")
            lines += [p.render() for p in self.problems]
        return "\n".join(lines)


def validate_extract(root: Path, *, progress: bool = False) -> ValidationReport:
    """Check the extract at ``root``; raise :class:`InputError` listing every error.

    Returns the report (with any warnings) when there is no error.
    """
    report = check_extract(root, progress=progress)
    if report.errors:
        n = len(report.errors)
        raise InputError(report.problems, summary=(
            f"{n} problem{'s' if n != 1 else ''} found in the extract {root}; nothing was "
            "computed. Fix the extract and run `reportcard validate` again."))
    return report


def check_extract(root: Path, *, progress: bool = False) -> ValidationReport:
    """Check the extract at ``root`` and return everything found; never raises for bad data.

    For notebooks: the report shows the problems next to the counts and charts.
    """
    started = time.perf_counter()
    root = Path(root)
    report = ValidationReport(root=root)
    say = _progress() if progress else (lambda _msg: None)
    if not root.is_dir():
        report.problems.append(Problem(
            file=str(root), rule="extract directory does not exist" if not root.exists()
            else "is not a directory",
            hint="pass the folder holding directory/ and the year folders, or run "
                 "`reportcard synth --out data/extract` to make a demo extract"))
        return report
    directory = {spec.name: _read(root / "directory", spec, say) for spec in
                 schema.DIRECTORY_FILES}
    districts, schools = directory["districts"], directory["schools"]
    report.districts, report.schools = districts.rows, schools.rows
    report.problems += check_layout(root / "directory", schema.DIRECTORY_FILES)
    for read in (districts, schools):
        report.problems += read.problems + check_file(read)
    report.problems += relations.check_directory(districts, schools)
    nulls = [_null_rows(d, None) for d in (districts, schools)]

    years = year_dir_names(root)
    if not years:
        report.problems.append(Problem(
            file=str(root), rule="no year directories (such as 2024/) in the extract",
            hint="an extract holds one directory per school year, named by its ending year"))
    report.years = tuple(int(y) for y in years)
    sizes, displays = [], {}
    for year in report.years:
        ydir = root / str(year)
        report.problems += check_layout(ydir, schema.YEAR_FILES)
        enrollment = _read(ydir, schema.ENROLLMENT, say)
        report.problems += _year_file_checks(enrollment, year, districts, schools)
        report.problems += relations.check_grade_span(enrollment, schools)
        report.problems += relations.check_attendance(enrollment)
        sizes.append(relations.district_sizes(enrollment, year))
        displays[year] = enrollment.display

        assessment = _read(ydir, schema.ASSESSMENT, say)
        report.problems += _year_file_checks(assessment, year, districts, schools)
        report.problems += relations.check_grade_span(assessment, schools)
        report.problems += relations.check_subject_grade(assessment)
        report.problems += relations.check_enrolled(assessment, enrollment, year)

        graduation = _read(ydir, schema.GRADUATION, say)
        report.problems += _year_file_checks(graduation, year, districts, schools)

        reads = (enrollment, assessment, graduation)
        report.counts[year] = {r.spec.name: r.rows for r in reads if r.frame is not None}
        nulls += [_null_rows(r, year) for r in reads]
        del enrollment, assessment, graduation, reads  # one year in memory at a time

    report.district_sizes = pl.concat(sizes) if sizes else relations.district_sizes(
        ReadResult(schema.ENROLLMENT, None, ""), 0)
    report.problems += relations.check_plausible(report.district_sizes, displays)
    report.missing_values = pl.concat(nulls)
    report.seconds = time.perf_counter() - started
    return report


def _year_file_checks(read: ReadResult, year: int, districts: ReadResult,
                      schools: ReadResult) -> list[Problem]:
    return (read.problems + check_file(read) + relations.check_year(read, year)
            + relations.check_references(read, districts, schools))


def _read(directory: Path, spec: schema.FileSpec, say: Callable[[str], None]) -> ReadResult:
    path = find_file(directory, spec.name)
    display = str(path if path is not None else directory / f"{spec.name}.parquet")
    if spec.per_year is False and path is None:
        display = str(directory / f"{spec.name}.csv")
    t0 = time.perf_counter()
    read = read_file(path, spec, display)
    if path is not None:
        say(f"read {display}: {read.rows:,} rows ({time.perf_counter() - t0:.1f}s)")
    return read


def _null_rows(read: ReadResult, year: int | None) -> pl.DataFrame:
    return pl.DataFrame(
        [{"file": read.spec.name, "year": year, "column": c, "rows": read.rows, "missing": n}
         for c, n in read.nulls.items()],
        schema={"file": pl.String, "year": pl.Int64, "column": pl.String, "rows": pl.Int64,
                "missing": pl.Int64})


def _progress() -> Callable[[str], None]:
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    return lambda msg: console.print(f"[dim]{msg}[/dim]")


__all__ = ["ValidationReport", "check_extract", "validate_extract"]
