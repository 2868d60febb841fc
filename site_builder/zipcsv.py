"""CSV downloads as ZIP archives: one CSV in each, written so that two builds are identical.

The site publishes each CSV download (``state.csv``, ``districts/{code}.csv``) inside a ZIP
archive of the same name (``state.zip`` holds exactly ``state.csv``): one row per published
cell compresses about 15 to 1, and at full scale the plain files alone were 1.2 GB against a
200 MB budget for the whole site. ZIP, not gzip, because every desktop opens it without extra
software (district data coordinators open these in a spreadsheet).

:func:`write_zipped_csv` is deterministic: a fixed timestamp, fixed permissions, one member,
fixed compression method and level, so the same CSV bytes give the same archive bytes.

:func:`read_zipped_csv` is what every reader of the published site uses (the gate, the LP
audit, tests). It is strict: an archive that is not a readable ZIP, or that holds anything but
the one CSV its name promises, raises :class:`ZippedCsvError` with the file, the rule and a
hint, so a planted or damaged archive is refused rather than skipped.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import polars as pl

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
"""The earliest date ZIP can store; no build time inside a published file."""
COMPRESS_LEVEL = 6
MAX_CSV_BYTES = 4 << 30
"""A member larger than this (uncompressed) is refused: no download is near it."""


class ZippedCsvError(ValueError):
    """A published ZIP archive that cannot be read, or does not hold exactly its one CSV."""


def member_name(archive: Path | str) -> str:
    """The one CSV an archive holds: ``state.zip`` -> ``state.csv``."""
    return Path(archive).with_suffix(".csv").name


def zip_bytes(name: str, data: bytes) -> bytes:
    """One member ``name`` holding ``data``, deflated, with fixed metadata."""
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the building machine
    info.external_attr = 0o644 << 16
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(info, data, compresslevel=COMPRESS_LEVEL)
    return buf.getvalue()


def csv_bytes(df: pl.DataFrame) -> bytes:
    """The site's CSV form of ``df``: header, ``\\n`` line ends, withheld = empty field."""
    buf = io.BytesIO()
    df.write_csv(buf, null_value="", include_header=True, line_terminator="\n")
    return buf.getvalue()


def write_zipped_csv(df: pl.DataFrame, path: Path) -> tuple[int, int]:
    """Write ``df`` as CSV inside the ZIP archive ``path`` (member :func:`member_name`).

    Returns (archive bytes, CSV bytes)."""
    data = csv_bytes(df)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(zip_bytes(member_name(path), data))
    return path.stat().st_size, len(data)


def read_zipped_csv(path: Path) -> bytes:
    """The CSV bytes inside the published archive ``path``, checked strictly.

    Raises :class:`ZippedCsvError` unless ``path`` is a readable ZIP archive holding exactly
    one unencrypted member named :func:`member_name` (no folders, nothing else), whose data
    decompresses with a correct checksum."""
    path = Path(path)
    expected = member_name(path)
    hint = (f"Hint: a download archive holds exactly one file, {expected}, and nothing else; "
            "rebuild the site with `reportcard build` rather than editing downloads by hand")
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            names = [m.filename for m in members]
            if len(members) != 1 or names[0] != expected:
                shown = ", ".join(repr(n) for n in names[:5]) or "nothing"
                more = f" and {len(names) - 5} more" if len(names) > 5 else ""
                raise ZippedCsvError(
                    f"{path}: the archive holds {shown}{more}, not exactly one file "
                    f"{expected!r} (rule: one CSV per download archive).\n  {hint}")
            info = members[0]
            if info.flag_bits & 0x1:
                raise ZippedCsvError(f"{path}: {expected} is encrypted (rule: a download is "
                                     f"readable by anyone).\n  {hint}")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ZippedCsvError(
                    f"{path}: {expected} uses compression method {info.compress_type} "
                    f"(rule: stored or deflated only, which every unzip tool reads).\n  {hint}")
            if info.file_size > MAX_CSV_BYTES:
                raise ZippedCsvError(f"{path}: {expected} claims {info.file_size:,} bytes "
                                     f"(rule: at most {MAX_CSV_BYTES:,}).\n  {hint}")
            data = zf.read(info)
    except ZippedCsvError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
            RuntimeError) as err:
        raise ZippedCsvError(f"{path}: not a readable ZIP archive ({err}).\n  {hint}") from err
    return data


def read_published_csv(path: Path) -> pl.DataFrame:
    """A published CSV (plain ``.csv`` or inside a ``.zip``), every column as text."""
    source: Path | io.BytesIO = Path(path)
    if Path(path).suffix.lower() == ".zip":
        source = io.BytesIO(read_zipped_csv(Path(path)))
    return pl.read_csv(source, infer_schema=False)
