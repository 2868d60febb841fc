"""The aggregate store under ``build/aggregates``: what compute hands to the site builder.

* ``cells.parquet``: raw cells, exact, restricted (written by ``compute.write_raw_cells``).
* ``published.parquet``: protected cells, the only numbers the site may render.
* ``directory/``: a copy of the extract's public LEA and school directory, so that the site
  builder never has to open the extract directory at all.

Everything is written beside its final name and renamed into place, so a reader (or a killed
run) never sees half a file.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl

from site_builder import schema
from site_builder.cells import PUBLISHED_EXTRA, RAW_SCHEMA
from site_builder.extract import find_file

PUBLISHED_SCHEMA = {**RAW_SCHEMA, **PUBLISHED_EXTRA}


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (the directory entry itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_cells(cells: pl.DataFrame, out_dir: Path | str, name: str,
                schema: dict[str, pl.DataType]) -> Path:
    """Write ``<out_dir>/<name>`` restricted (dir 0700, file 0600), atomically.

    The file is written beside its final name and renamed into place, so a reader never sees
    half a file. Same cells give a byte-identical file (no statistics, fixed compression).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    target = out / name
    tmp = out / f".{name}.tmp"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        cells.select(list(schema)).cast(schema).write_parquet(  # type: ignore[arg-type]
            tmp, compression="zstd", statistics=False)  # stats cost ~1 s; readers read it all
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)  # e.g. a full disk: leave no half-written file behind
        raise
    return target


def write_published_cells(published: pl.DataFrame, out_dir: Path | str) -> Path:
    """Write protected cells to ``<out_dir>/published.parquet``."""
    return write_cells(published, out_dir, "published.parquet", PUBLISHED_SCHEMA)


def write_witnesses(witnesses: dict, out_dir: Path | str) -> list[Path]:
    """Write the audit's witnesses (``audit.Witnesses`` per year, from ``protect``) beside the
    raw cells, restricted like them: they are moves from the true values."""
    from site_builder.disclosure.audit import WITNESS_FILES, witness_frames

    frames = witness_frames(witnesses)
    return [write_cells(df, out_dir, name, dict(df.schema))
            for df, name in zip(frames, WITNESS_FILES, strict=True)]


def remove_witnesses(out_dir: Path | str) -> None:
    """Remove witnesses that no longer belong to the cells beside them."""
    from site_builder.disclosure.audit import WITNESS_FILES

    for name in WITNESS_FILES:
        (Path(out_dir) / name).unlink(missing_ok=True)


SYNTHETIC_GENERATOR = "site_builder.synth"
SYNTHETIC_MARKER = "synthetic.json"
"""Written beside the directory files when the extract was made by ``reportcard synth``."""
MANIFEST = "manifest.json"
"""A published site's list of its files and what it was made from (:mod:`gate.manifest`)."""

SYNTHETIC_IDENTITY = ("generator", "generator_version", "profile", "seed", "scale")
"""What makes a synthetic extract's students (its ``extract.json``): two extracts that differ
in any of these hold different students."""


def synthetic_identity(extract_dir: Path | str) -> dict[str, object] | None:
    """What made the students of a synthetic extract (``reportcard synth``'s generator, its
    version, the profile, seed and scale in ``extract.json``), or ``None`` for any other
    extract. Years and canaries are not part of it: an extract made again with one more year
    (or with canaries) holds the same students in the years both have."""
    meta = Path(extract_dir) / "extract.json"
    try:
        info = json.loads(meta.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("generator") != SYNTHETIC_GENERATOR:
        return None
    return {k: info.get(k) for k in SYNTHETIC_IDENTITY}


def copy_directory(extract_dir: Path | str, out_dir: Path | str) -> Path:
    """Copy the public directory files (districts, schools) into the aggregate store."""
    src = Path(extract_dir) / "directory"
    dst = Path(out_dir) / "directory"
    tmp = Path(out_dir) / ".directory.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for spec in schema.DIRECTORY_FILES:
            path = find_file(src, spec.name)
            if path is not None:
                shutil.copyfile(path, tmp / path.name)
        # A synthetic extract (made by `reportcard synth`) says so, and so will every page.
        made = synthetic_identity(extract_dir)
        if made is not None:
            (tmp / SYNTHETIC_MARKER).write_text(json.dumps(
                {"synthetic": True, "profile": made["profile"]}) + "\n", "utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)
    return dst
