"""Writing an extract: fixed file settings, restricted modes, all-or-nothing replacement.

Files are created 0600 and directories 0700 (restricted student data). The extract is written
into a temporary directory beside the target and renamed into place at the end, so an
interrupted run leaves the old extract (or nothing), never half a new one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from site_builder import schema
from site_builder.errors import InputError, Problem

FILE_MODE = 0o600
DIR_MODE = 0o700


def typed(df: pl.DataFrame, spec: schema.FileSpec) -> pl.DataFrame:
    """Columns in the declared order with the declared types."""
    types = spec.polars_schema()
    return df.select([pl.col(c).cast(types[c]) for c in spec.column_names])


def write_frame(df: pl.DataFrame, path_stem: Path, fmt: str) -> Path:
    path = path_stem.with_suffix(f".{fmt}")
    if fmt == "parquet":
        df.write_parquet(path, compression="zstd", compression_level=1, statistics=True,
                         row_group_size=256 * 1024)
    else:
        df.write_csv(path)
    os.chmod(path, FILE_MODE)
    return path


def write_json(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(path, FILE_MODE)


def make_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def _replaceable(out: Path) -> bool:
    return not out.exists() or (out.is_dir() and (
        (out / "extract.json").exists() or not any(out.iterdir())))


@contextmanager
def atomic_extract(out: Path) -> Iterator[Path]:
    """Yield a private temporary directory; on success it replaces ``out``."""
    out = Path(out)
    if not _replaceable(out):
        raise InputError([Problem(
            file=str(out), rule="exists and is not an extract (no extract.json); not replacing it",
            hint="choose an empty or new directory for --out, or delete this one first")])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    os.chmod(tmp, DIR_MODE)
    try:
        yield tmp
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(old)
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
