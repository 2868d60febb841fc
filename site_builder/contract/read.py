"""Reading one extract file for validation: file-level and column-level checks.

Every file is read whole, once, into a polars frame with a ``_row`` column (the 1-based data
row, the header not counted) and one column per declared column that is present, cast to its
declared type. Values that could not be cast are reported here and become null, so the later
rules (codes, ranges, relations) skip them instead of reporting them twice.

CSV files are read as bytes first so that encoding problems can be located: a UTF-8
byte-order mark is accepted with a warning (polars and the loader ignore it); bytes that are
not UTF-8 are an error naming the byte offset, line, row and column.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from site_builder import schema
from site_builder.contract.examples import examples_of, pattern_in_words, show
from site_builder.errors import Problem

ROW = "_row"
"""Name of the 1-based data row column added to every frame."""

DICTIONARY_HINT = "the contract is in docs/extract_data_dictionary.md"

_BOM = b"\xef\xbb\xbf"
_DELIMITERS = {";": "';'", "\t": "a tab", "|": "'|'"}
_REPLACEMENT = "\ufffd"
_TYPE_WORDS = {"str": "text", "int": "whole numbers", "bool": "true/false", "date": "dates"}


@dataclass
class ReadResult:
    """One file as read for validation."""

    spec: schema.FileSpec
    path: Path | None
    display: str
    frame: pl.DataFrame | None = None
    """``_row`` plus the declared columns present, typed; None when unreadable."""
    problems: list[Problem] = field(default_factory=list)
    nulls: dict[str, int] = field(default_factory=dict)
    """Missing values per present column (before casting)."""

    @property
    def rows(self) -> int:
        return 0 if self.frame is None else self.frame.height

    def has(self, *columns: str) -> bool:
        return self.frame is not None and all(c in self.frame.columns for c in columns)


def read_file(path: Path | None, spec: schema.FileSpec, display: str) -> ReadResult:
    """Read ``path`` against ``spec``; never raises for a bad file, reports it instead."""
    result = ReadResult(spec=spec, path=path, display=display)
    if path is None:
        hint = (f"every year directory needs {spec.name}.parquet or {spec.name}.csv; export "
                "it again, or remove the incomplete year directory") if spec.per_year else (
                f"the extract needs directory/{spec.name}.csv (or .parquet), the public "
                "directory of LEAs and schools")
        result.problems.append(Problem(file=display, rule="file is missing", hint=hint))
        return result
    if not path.is_file():
        result.problems.append(Problem(
            file=display, rule="is not a regular file",
            hint=f"replace it with the {spec.name} file of the extract"))
        return result
    if path.stat().st_size == 0:
        result.problems.append(Problem(
            file=display, rule="file is empty (0 bytes)",
            hint="the export was probably interrupted; export the file again"))
        return result
    try:
        raw = _read_csv(path, result) if path.suffix == ".csv" else _read_parquet(path, result)
    except OSError as err:
        result.problems.append(Problem(
            file=display, rule=f"file cannot be read ({err.strerror or err})",
            hint="check the file's permissions and that the disk is readable"))
        return result
    if raw is None:
        return result
    if raw.height == 0:
        result.problems.append(Problem(
            file=display, rule="file has a header but no data rows",
            hint="the export was probably interrupted or filtered out every row; "
                 "export the file again"))
        return result
    result.frame = _typed(raw, spec, result)
    return result


def _read_parquet(path: Path, result: ReadResult) -> pl.DataFrame | None:
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(max(path.stat().st_size - 4, 0))
        tail = fh.read(4)
    hint = "the file was probably cut short while copying; copy or export it again"
    if head != b"PAR1" or tail != b"PAR1":
        what = "does not start with" if head != b"PAR1" else "does not end with"
        result.problems.append(Problem(
            file=result.display,
            rule=f"file is not a readable Parquet file: it {what} the Parquet marker "
                 "(truncated or not Parquet)", hint=hint))
        return None
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError) as err:
        # PanicException is a BaseException: polars' reader gave up on a damaged file
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
        result.problems.append(Problem(
            file=result.display,
            rule=f"file is not a readable Parquet file (corrupt: {reason})", hint=hint))
        return None


def _read_csv(path: Path, result: ReadResult) -> pl.DataFrame | None:
    data = path.read_bytes()
    display = result.display
    if data.startswith(_BOM):
        result.problems.append(Problem(
            file=display, rule="file starts with a UTF-8 byte-order mark (BOM); it was ignored",
            severity="warning",
            hint="harmless here; to silence this, export as UTF-8 without a BOM "
                 "(Excel: 'CSV UTF-8' adds one; most database exports do not)"))
        data = data[len(_BOM):]
    bad_byte: tuple[int, int, int] | None = None  # (offset, byte, line)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        offset = err.start
        line = data.count(b"\n", 0, offset) + 1
        bad_byte = (offset, data[offset], line)
    try:
        raw = pl.read_csv(io.BytesIO(data), infer_schema=False,
                          encoding="utf8-lossy" if bad_byte else "utf8")
    except pl.exceptions.NoDataError:
        result.problems.append(Problem(
            file=display, rule="file is empty (no header)",
            hint="the export was probably interrupted; export the file again"))
        return None
    except (pl.exceptions.PolarsError, pl.exceptions.PanicException) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
        result.problems.append(Problem(
            file=display, rule=f"file is not a readable CSV file ({reason})",
            hint="check that every line has the same number of comma-separated fields and "
                 "that text containing commas is quoted"))
        return None
    if raw.width == 1:
        header = raw.columns[0]
        for sep, name in _DELIMITERS.items():
            if sep in header:
                result.problems.append(Problem(
                    file=display,
                    rule=f"the header is a single column containing {name}: the file is "
                         f"delimited by {name}, not by commas",
                    examples=(show(header[:60]),),
                    hint="export the file as comma-separated values (',' between fields); "
                         "spreadsheet exports in some locales use ';'"))
                return None
    if bad_byte is not None:
        _report_bad_utf8(raw, bad_byte, result)
    end = data.find(b"\n")
    first_line = data[: end if end >= 0 else len(data)]
    names = next(csv.reader([first_line.decode("utf-8", "replace").strip()]))
    repeated = sorted({h for h in names if names.count(h) > 1})
    if repeated:
        result.problems.append(Problem(
            file=display, rule=f"the header names {', '.join(repeated)} more than once",
            hint="each column must appear once; remove the repeated columns from the export"))
        # polars renamed the repeats to NAME_duplicated_N; they are not reported again
        raw = raw.drop([c for c in raw.columns if c not in names])
    return raw


def _report_bad_utf8(raw: pl.DataFrame, bad_byte: tuple[int, int, int],
                     result: ReadResult) -> None:
    offset, byte, line = bad_byte
    string_cols = [c for c in raw.columns if raw.schema[c] == pl.String]
    masks = {c: pl.col(c).str.contains(_REPLACEMENT, literal=True).fill_null(False)
             for c in string_cols}
    counts = raw.select([m.sum().alias(c) for c, m in masks.items()]).row(0, named=True)
    first_reported = False
    hint = ("save the file as UTF-8 (Excel: Save As > 'CSV UTF-8'); if it came from a "
            "Latin-1/Windows-1252 system, convert it: iconv -f cp1252 -t utf-8")
    for c in string_cols:
        n = counts[c]
        if not n:
            continue
        hits = raw.with_row_index(ROW, offset=1).filter(masks[c]).head(5)
        first_row = int(hits[ROW][0])
        rule = "text is not valid UTF-8"
        if not first_reported and first_row == line - 1:
            rule += f" (first invalid byte 0x{byte:02X} at byte offset {offset:,}, line {line})"
            first_reported = True
        declared = c in result.spec.column_names
        pii = declared and result.spec.column(c).pii
        result.problems.append(Problem(
            file=result.display, row=first_row, column=c, rule=rule, count=n,
            examples=examples_of(hits, c, pii=pii or not declared), hint=hint))
    if not first_reported:
        result.problems.append(Problem(
            file=result.display, row=line - 1 if line > 1 else None,
            rule=f"text is not valid UTF-8 (first invalid byte 0x{byte:02X} at byte offset "
                 f"{offset:,}, line {line})", hint=hint))


def _typed(raw: pl.DataFrame, spec: schema.FileSpec, result: ReadResult) -> pl.DataFrame:
    declared = spec.column_names
    missing = [c for c in declared if c not in raw.columns]
    extra = [c for c in raw.columns if c not in declared]
    if missing:
        s = "s" if len(missing) > 1 else ""
        result.problems.append(Problem(
            file=result.display, rule=f"missing column{s} {', '.join(missing)}",
            hint=f"{spec.name} must have the columns {', '.join(declared)}; "
                 f"{DICTIONARY_HINT}"))
    if extra:
        s = "s" if len(extra) > 1 else ""
        result.problems.append(Problem(
            file=result.display, rule=f"unexpected column{s} {', '.join(extra)} "
                                      "(not in the extract contract)",
            hint="an extract must carry only the contract's columns, since unexpected data "
                 "may be PII: remove them from the export, or declare them in "
                 "site_builder/schema.py if they are really needed"))
    frame = raw.select([c for c in declared if c in raw.columns]).with_row_index(ROW, offset=1)
    present = [c for c in declared if c in frame.columns]
    result.nulls = frame.select([pl.col(c).null_count() for c in present]).row(
        0, named=True) if present else {}
    result.problems.extend(_missing_values(frame, spec, result))
    casts = []
    for c in declared:
        if c not in frame.columns:
            continue
        col = spec.column(c)
        expr = _cast(frame.schema[c], col, result)
        if expr is None:  # wrong column type: reported, column dropped from later checks
            dtype = pl.Int64() if col.dtype == "int" else schema.POLARS_TYPES[col.dtype]
            casts.append(pl.lit(None, dtype=dtype).alias(c))
            continue
        casts.append(expr.alias(c))
        if frame.schema[c] == pl.String and col.dtype != "str":
            failed = pl.col(c).is_not_null() & expr.is_null()
            n = frame.select(failed.sum()).item()
            if n:
                hits = frame.filter(failed).head(5)
                result.problems.append(Problem(
                    file=result.display, row=int(hits[ROW][0]), column=c,
                    rule=f"value is not {_TYPE_RULE[col.dtype]}", count=n,
                    examples=examples_of(frame.filter(failed), c, pii=col.pii),
                    hint=f"{c} holds {_TYPE_WORDS[col.dtype]}; fix these values in the "
                         "export"))
    return frame.select(pl.col(ROW), *casts)


def _missing_values(frame: pl.DataFrame, spec: schema.FileSpec,
                    result: ReadResult) -> list[Problem]:
    problems = []
    for col in spec.columns:
        n = result.nulls.get(col.name, 0)
        if col.nullable or not n:
            continue
        first = frame.filter(pl.col(col.name).is_null()).select(ROW).head(5)[ROW].to_list()
        problems.append(Problem(
            file=result.display, row=int(first[0]), column=col.name,
            rule="key value is missing" if col.key else "value is missing", count=n,
            examples=tuple(f"row {r}" for r in first) if n > 1 else (),
            hint=f"every {spec.name} row needs a {col.name}; fill it in or drop the row "
                 "from the export"))
    return problems


_TYPE_RULE = {"int": "a whole number", "bool": "true or false", "date": "a date (YYYY-MM-DD)"}


def _cast(dtype: pl.DataType, col: schema.Column, result: ReadResult) -> pl.Expr | None:
    """An expression casting ``col`` to its declared type; None if its stored type is wrong."""
    # Whole numbers are checked as Int64 so that an out-of-range value is reported as out of
    # range rather than lost in an overflowing cast.
    target = pl.Int64() if col.dtype == "int" else schema.POLARS_TYPES[col.dtype]
    c = pl.col(col.name)
    if dtype == pl.String:
        if col.dtype == "str":
            return c
        if col.dtype == "int":
            return c.str.strip_chars().cast(pl.Int64, strict=False)
        if col.dtype == "bool":
            low = c.str.strip_chars().str.to_lowercase()
            return pl.when(low == "true").then(True).when(low == "false").then(False) \
                .otherwise(None).cast(pl.Boolean)
        return c.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    ok = {
        "str": dtype in (pl.Categorical, pl.Enum) or isinstance(dtype, pl.Enum | pl.Categorical),
        "int": dtype.is_integer(),
        "bool": dtype == pl.Boolean,
        "date": dtype == pl.Date or isinstance(dtype, pl.Datetime),
    }[col.dtype]
    if ok:
        return c.cast(target, strict=False)
    extra = " (codes must keep their leading zeros)" if col.dtype == "str" and col.pattern \
        else ""
    result.problems.append(Problem(
        file=result.display, column=col.name,
        rule=f"column is stored as {dtype}; expected {_TYPE_WORDS[col.dtype]}{extra}",
        hint=f"write {col.name} as {_TYPE_WORDS[col.dtype]} in the export; {DICTIONARY_HINT}"))
    return None


def check_layout(directory: Path, specs: tuple[schema.FileSpec, ...]) -> list[Problem]:
    """Files in ``directory`` that are ambiguous (both formats) or not in the contract."""
    if not directory.is_dir():
        return []
    problems = []
    expected = {f"{spec.name}{suffix}" for spec in specs for suffix in (".parquet", ".csv")}
    for spec in specs:
        if (directory / f"{spec.name}.parquet").exists() and \
                (directory / f"{spec.name}.csv").exists():
            problems.append(Problem(
                file=str(directory / f"{spec.name}.csv"),
                rule=f"both {spec.name}.parquet and {spec.name}.csv exist; only the .parquet "
                     "would be read", hint="keep one version of the file and remove the other"))
    for p in sorted(directory.iterdir()):
        if p.name not in expected and not p.name.startswith("."):
            problems.append(Problem(
                file=str(p), severity="warning",
                rule="not part of the extract contract; it is not read",
                hint="remove it from the extract: files outside the contract may hold data "
                     "that should not be here"))
    return problems


def year_dir_names(root: Path) -> list[str]:
    """Names of subdirectories that look like year directories (4 digits)."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and re.fullmatch(r"\d{4}", p.name))


__all__ = ["ROW", "ReadResult", "check_layout", "pattern_in_words", "read_file",
           "year_dir_names"]
