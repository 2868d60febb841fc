"""`reportcard build` and `reportcard serve`: thin commands over the site package."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from test_site_build import ROOT, fixture_extract, naive_publish

from site_builder.cli import main
from site_builder.compute import compute_cells
from site_builder.disclosure.policy import load_policy
from site_builder.site.serve import make_server
from site_builder.specs import load_specs


@pytest.fixture(scope="module")
def aggregates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An aggregates dir (published.parquet) and an extract dir holding only the directory."""
    root = tmp_path_factory.mktemp("cli")
    extract = fixture_extract()
    keep = ["001090", "048901"]
    specs = load_specs(ROOT / "report_specs")
    published = naive_publish(compute_cells(extract, specs),
                              load_policy(ROOT / "report_specs" / "policy.yaml"))
    published = published.filter((pl.col("level") == "state")
                                 | pl.col("district_code").is_in(keep))
    (root / "agg").mkdir()
    published.write_parquet(root / "agg" / "published.parquet")
    (root / "extract" / "directory").mkdir(parents=True)
    extract.districts.filter(pl.col("district_code").is_in(keep)).write_csv(
        root / "extract" / "directory" / "districts.csv")
    extract.schools.filter(pl.col("district_code").is_in(keep)).write_csv(
        root / "extract" / "directory" / "schools.csv")
    return root


def test_build_command_builds_from_published_cells(aggregates: Path) -> None:
    out = aggregates / "staging"
    result = CliRunner().invoke(main, [
        "build", "--aggregates", str(aggregates / "agg"), "--out", str(out),
        "--specs", str(ROOT / "report_specs"), "--extract", str(aggregates / "extract")])
    assert result.exit_code == 0, result.output
    assert "Built" in result.output
    assert (out / "districts" / "001090" / "index.html").is_file()
    assert (out / "schools" / "048901-1000" / "index.html").is_file()
    assert (out / "downloads" / "districts" / "048901.csv").is_file()
    assert not (out.parent / ".staging.src").exists()  # generated docs are cleaned up


def test_build_command_takes_paths_relative_to_where_it_runs(
        aggregates: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the README writes it: `reportcard build` with its default --out build/staging."""
    monkeypatch.chdir(aggregates)
    result = CliRunner().invoke(main, [
        "build", "--aggregates", "agg", "--out", "build/staging",
        "--specs", str(ROOT / "report_specs"), "--extract", "extract"])
    assert result.exit_code == 0, result.output
    assert (aggregates / "build" / "staging" / "districts" / "001090" / "index.html").is_file()
    assert not (aggregates / "build" / ".staging.src").exists()


def test_a_site_built_from_a_synthetic_extract_says_so_on_every_page(aggregates: Path,
                                                                     tmp_path: Path) -> None:
    import json

    from site_builder.site.build import SYNTHETIC_NOTICE
    from site_builder.store import copy_directory

    def build(extract: Path, out: Path) -> list[Path]:
        agg = tmp_path / f"agg-{out.name}"
        agg.mkdir()
        (agg / "published.parquet").write_bytes(
            (aggregates / "agg" / "published.parquet").read_bytes())
        copy_directory(extract, agg)   # what compute does
        result = CliRunner().invoke(main, [
            "build", "--aggregates", str(agg), "--out", str(out),
            "--specs", str(ROOT / "report_specs"), "--extract", str(extract)])
        assert result.exit_code == 0, result.output
        return sorted(out.rglob("*.html"))

    # The fixture's extract has no extract.json: treated as real, no notice.
    real = build(aggregates / "extract", tmp_path / "real")
    assert real and not any(SYNTHETIC_NOTICE in p.read_text() for p in real)
    # The same extract marked as made by `reportcard synth`: every page says so.
    synth = tmp_path / "synth-extract"
    (synth / "directory").mkdir(parents=True)
    for f in (aggregates / "extract" / "directory").iterdir():
        (synth / "directory" / f.name).write_bytes(f.read_bytes())
    (synth / "extract.json").write_text(json.dumps({"generator": "site_builder.synth",
                                                    "profile": "tiny"}))
    pages = build(synth, tmp_path / "demo")
    assert len(pages) == len(real)
    assert all(SYNTHETIC_NOTICE in p.read_text() for p in pages)


def test_build_without_published_cells_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", "--aggregates", str(tmp_path),
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "published.parquet: no published cells" in result.output
    assert "Hint: run `reportcard compute` first" in result.output


def test_serve_sets_no_cookies(aggregates: Path) -> None:
    out = aggregates / "staging"
    if not (out / "index.html").exists():
        pytest.skip("needs the site from test_build_command_builds_from_published_cells")
    server = make_server(out, 0)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for path in ("/", "/districts/001090/", "/downloads/state.csv",
                     "/assets/search-index.json"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}") as resp:
                assert resp.status == 200
                assert resp.headers.get("Set-Cookie") is None
                assert resp.headers.get("Referrer-Policy") == "no-referrer"
    finally:
        server.shutdown()
        server.server_close()
    assert server.server_address[0] == "127.0.0.1"
