"""Download archives: deterministic to the byte, and read strictly (one CSV of the right name).

The gate-level refusals (a planted archive in a staged site) are in test_gate.py.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import polars as pl
import pytest

from site_builder.zipcsv import (
    ZIP_DATE_TIME,
    ZippedCsvError,
    read_published_csv,
    read_zipped_csv,
    write_zipped_csv,
)

FRAME = pl.DataFrame({"year": [2024, 2024], "level": ["state", "district"],
                      "n_students": [900000, None], "display": ["900,000", "*"]})


def test_same_frame_gives_the_same_bytes_at_another_time(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "state.zip", tmp_path / "b" / "state.zip"
    write_zipped_csv(FRAME, a)
    time.sleep(2.1)  # ZIP timestamps have 2-second resolution
    write_zipped_csv(FRAME, b)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        (info,) = zf.infolist()
    assert info.filename == "state.csv" and info.date_time == ZIP_DATE_TIME
    assert info.compress_type == zipfile.ZIP_DEFLATED


def test_round_trip_keeps_empty_withheld_fields(tmp_path: Path) -> None:
    path = tmp_path / "001091.zip"
    size, raw = write_zipped_csv(FRAME, path)
    assert size == path.stat().st_size and raw > 0
    text = read_zipped_csv(path).decode()
    assert text == "year,level,n_students,display\n2024,state,900000,\"900,000\"\n" \
                   "2024,district,,*\n"
    df = read_published_csv(path)
    assert df["n_students"].to_list() == ["900000", None]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize(("members", "message"), [
    ({"state.csv": b"a\n1\n", "notes.txt": b"x"},
     "holds 'state.csv', 'notes.txt', not exactly one file 'state.csv'"),
    ({"cells.parquet": b"PAR1"}, "holds 'cells.parquet', not exactly one file 'state.csv'"),
    ({"sub/state.csv": b"a\n1\n"}, "holds 'sub/state.csv', not exactly one file"),
    ({}, "holds nothing, not exactly one file 'state.csv'"),
])
def test_anything_but_the_one_csv_is_refused(tmp_path: Path, members: dict,
                                             message: str) -> None:
    path = _zip(tmp_path / "state.zip", members)
    with pytest.raises(ZippedCsvError) as err:
        read_zipped_csv(path)
    assert message in str(err.value)
    assert "Hint: a download archive holds exactly one file, state.csv" in str(err.value)


def test_unreadable_archives_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "state.zip"
    junk.write_bytes(b"this is not a zip archive")
    with pytest.raises(ZippedCsvError, match="state.zip: not a readable ZIP archive"):
        read_zipped_csv(junk)
    # a damaged member: flip a byte of the compressed data, the CRC check must catch it
    good = tmp_path / "x" / "state.zip"
    write_zipped_csv(pl.DataFrame({"a": list(range(2000))}), good)
    data = bytearray(good.read_bytes())
    data[60] ^= 0xFF
    good.write_bytes(bytes(data))
    with pytest.raises(ZippedCsvError, match="not a readable ZIP archive"):
        read_zipped_csv(good)


def test_the_audit_reads_the_csv_inside_each_download_archive(tmp_path: Path) -> None:
    """audit_site finds a leak planted inside a zipped download, and passes the clean one."""
    from site_builder.cells import CSV_COLUMNS, KEY
    from site_builder.disclosure import audit_site, load_policy, protect
    from site_builder.disclosure.toy import toy_state

    policy = load_policy()
    raw = toy_state(11, n_districts=1, schools=(3, 3), size=(3.8, 0.5))
    pub = protect(raw, policy).with_columns(pl.lit("").alias("district_name"),
                                            pl.lit("").alias("school_name"))
    site = tmp_path / "site"
    write_zipped_csv(pub.select(list(CSV_COLUMNS)), site / "downloads" / "state.zip")
    clean = audit_site(site, policy)
    assert clean.ok and clean.n_cells == pub.height, clean.render(limit=3)
    # un-withhold every primary-suppressed count (its raw value, reason still "primary")
    true_n = raw.select(*KEY, pl.col("n_students").alias("true_n"))
    leaked = pub.join(true_n, on=list(KEY), how="left").with_columns(
        pl.when(pl.col("reason") == "primary").then(pl.col("true_n"))
        .otherwise(pl.col("n_students")).alias("n_students"))
    assert leaked.filter(reason="primary")["n_students"].null_count() == 0
    write_zipped_csv(leaked.select(list(CSV_COLUMNS)), site / "downloads" / "state.zip")
    assert not audit_site(site, policy).ok
