"""Publishing the tiny fixture state end to end, and the gate on a real build.

One module-scoped publish of the tiny state (synth -> papermill compute -> protect -> mkdocs
build -> gate -> swap) backs every test here. Leaks are planted the way they would really
arrive: through a template given to the real builder, or into the built files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from site_builder.cells import KEY
from site_builder.disclosure import load_policy
from site_builder.disclosure.releases import read_release
from site_builder.gate import run_gate
from site_builder.gate.manifest import verify
from site_builder.site.build import build_site, read_directory
from site_builder.specs import load_specs

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "report_specs"
RC = [sys.executable, "-m", "site_builder.cli"]
TEMPLATES = ROOT / "site_builder" / "site" / "templates"


def reportcard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RC, *args], cwd=ROOT, capture_output=True, text=True)


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("publish")
    run = reportcard("synth", "--profile", "tiny", "--out", str(root / "extract"), "--seed", "7",
                     "--canaries", "3")
    assert run.returncode == 0, run.stderr
    run = reportcard("publish", "--extract", str(root / "extract"), "--site",
                     str(root / "site"), "--aggregates", str(root / "aggregates"),
                     "--specs", str(SPECS))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASSED" in run.stdout + run.stderr
    return root


def test_publish_writes_a_verified_site_with_provenance(published: Path) -> None:
    site = published / "site"
    assert verify(site).ok
    manifest = json.loads((site / "manifest.json").read_text())
    assert set(manifest) >= {"package_version", "source_date", "parameters", "specs_sha256",
                             "extract_sha256", "files"}
    assert manifest["files"].keys() == tree(site).keys() - {"manifest.json"}
    assert not list(published.glob(".site.staging-*"))
    run = reportcard("verify", str(site))
    assert run.returncode == 0 and "match manifest.json" in run.stdout


def test_no_solver_banner_in_what_an_analyst_reads(published: Path) -> None:
    """HiGHS prints "Running HiGHS ... Copyright" at its first use in a process: not into the
    console of `reportcard audit` (nor publish's), nor the executed compute notebook."""
    run = reportcard("audit", str(published / "site"), "--extract",
                     str(published / "extract"), "--aggregates", str(published / "aggregates"))
    assert run.returncode == 0 and "PASSED" in run.stdout + run.stderr, run.stdout + run.stderr
    assert "Running HiGHS" not in run.stdout + run.stderr
    notebooks = sorted((published / "runs").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        assert "Running HiGHS" not in nb.read_text("utf-8"), nb


def test_build_time_lives_in_the_manifest_only(published: Path) -> None:
    manifest = json.loads((published / "site" / "manifest.json").read_text())
    dates = {manifest["source_date"][:10], time.strftime("%Y-%m-%d", time.gmtime())}
    for path in (published / "site").rglob("*"):
        if path.is_file() and path.name != "manifest.json" and path.suffix != ".gz":
            text = path.read_text("utf-8", errors="replace")
            for date in dates:
                assert date not in text, path
    # The date comes from the inputs (the extract's newest file), not from the clock.
    newest = max(p.stat().st_mtime for p in (published / "extract").rglob("*") if p.is_file())
    assert manifest["source_date"] == time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime(int(newest)))


def test_two_publishes_of_the_same_inputs_are_byte_identical(published: Path) -> None:
    again = published / "again"
    run = reportcard("publish", "--extract", str(published / "extract"), "--site",
                     str(again / "site"), "--aggregates", str(again / "aggregates"),
                     "--specs", str(SPECS))
    assert run.returncode == 0, run.stderr
    first, second = tree(published / "site"), tree(again / "site")
    first.pop("manifest.json")
    second.pop("manifest.json")
    assert first == second
    # The manifest too: its date is the extract's, not the clock's.
    assert (published / "site" / "manifest.json").read_bytes() == \
        (again / "site" / "manifest.json").read_bytes()


def test_a_failed_publish_leaves_the_site_untouched(published: Path) -> None:
    before = tree(published / "site")
    broken = published / "broken-extract"
    shutil.copytree(published / "extract", broken)
    (broken / "2024" / "graduation.parquet").write_bytes(b"PAR1 truncated")
    run = reportcard("publish", "--extract", str(broken), "--site", str(published / "site"),
                     "--aggregates", str(published / "broken-aggregates"), "--specs",
                     str(SPECS))
    assert run.returncode == 1
    site = published / "site"
    assert f"Publishing stopped at step 'compute'; {site}/ was not changed." in run.stderr
    assert "graduation.parquet" in run.stderr and "Traceback" not in run.stderr
    assert tree(published / "site") == before


# --- the gate refuses leaks planted in a real build ---------------------------------

def _build_with(published: Path, out: Path, template: str, old: str, new: str) -> Path:
    """Build the site with one package template changed."""
    override = out.parent / f"{out.name}-templates"
    override.mkdir(parents=True)
    text = (TEMPLATES / template).read_text()
    assert old in text, f"{template} no longer contains {old!r}"
    (override / template).write_text(text.replace(old, new, 1))
    districts, schools = read_directory(published / "aggregates")
    build_site(pl.read_parquet(published / "aggregates" / "published.parquet"), districts,
               schools, load_specs(SPECS), load_policy(SPECS / "policy.yaml"), out,
               template_dir=override)
    return out


def _gate(site: Path, published: Path) -> list[tuple[str, str]]:
    report = run_gate(site, extract=published / "extract", audit=False,
                      policy=SPECS / "policy.yaml")
    return [(f.check, f.rule) for f in report.findings]


def test_the_real_build_passes_the_gate(published: Path) -> None:
    assert _gate(published / "site", published) == []


def test_a_canary_name_in_a_template_is_refused(published: Path, tmp_path: Path) -> None:
    canary = json.loads((published / "extract" / "canaries.json").read_text())
    entries = canary["canaries"] if isinstance(canary, dict) else canary
    name = f"{entries[0]['first_name']} {entries[0]['last_name']}"
    site = _build_with(published, tmp_path / "s", "district.html", "</h1>",
                       f"</h1><p class='rc-lede'>Student of the month: {name}</p>")
    assert ("pii", "a canary student's identifying value appears") in _gate(site, published)


def test_an_external_script_in_a_template_is_refused(published: Path, tmp_path: Path) -> None:
    site = _build_with(published, tmp_path / "s", "home.html", "</h1>",
                       '</h1><script src="https://www.googletagmanager.com/gtag/js"></script>')
    found = _gate(site, published)
    assert ("external", "<script src> points to another host") in found


def test_a_cookie_snippet_in_a_template_is_refused(published: Path, tmp_path: Path) -> None:
    site = _build_with(published, tmp_path / "s", "school.html", "</h1>",
                       "</h1><script>document.cookie = 'seen=1; max-age=31536000';</script>")
    assert ("external", "cookie or tracking code") in _gate(site, published)


def _withheld_value_not_on_page(published: Path) -> tuple[str, int]:
    """A district whose page must not show some withheld count that it does not show now."""
    raw = pl.read_parquet(published / "aggregates" / "cells.parquet")
    pub = pl.read_parquet(published / "aggregates" / "published.parquet")
    hidden = pub.filter(pl.col("suppressed") & (pl.col("level") == "district")
                        & (pl.col("measure") == "enrollment")).join(
        raw.select("year", "level", "district_code", "school_code", "measure", "grade",
                   "student_group", pl.col("n_students").alias("true_n")),
        on=["year", "level", "district_code", "school_code", "measure", "grade",
            "student_group"]).filter(pl.col("true_n") > 0).sort("district_code", "true_n")
    for code, value in hidden.select("district_code", "true_n").iter_rows():
        csv = (published / "site" / "downloads" / "districts" / f"{code}.csv").read_text()
        page = (published / "site" / "districts" / code / "index.html").read_text()
        if f",{value}," not in csv and f">{value}<" not in page:
            return code, value
    raise AssertionError("the tiny state has no withheld district count to plant")


def test_an_unsuppressed_number_on_a_page_is_refused(published: Path, tmp_path: Path) -> None:
    code, value = _withheld_value_not_on_page(published)
    site = tmp_path / "site"
    shutil.copytree(published / "site", site)
    page = site / "districts" / code / "index.html"
    text = page.read_text()
    at = text.index("<td", text.index("<table"))
    page.write_text(text[:at] + f"<td>{value}</td>" + text[at:])
    assert ("disclosure", "a table shows a number that no published cell holds") in _gate(
        site, published)


def test_a_small_cell_in_a_chart_spec_is_refused(published: Path, tmp_path: Path) -> None:
    code, value = _withheld_value_not_on_page(published)
    site = tmp_path / "site"
    shutil.copytree(published / "site", site)
    page = site / "districts" / code / "index.html"
    text = page.read_text()
    # a site chart embeds only its table's keys; plant the number as inline chart data
    marker = '<script type="application/json" class="rc-chart-spec"'
    start = text.index(">", text.index(marker)) + 1
    end = text.index("</script>", start)
    spec = json.loads(text[start:end])
    spec["data"] = {"values": [{"year": 2024, "student_group": "Black", "n_students": value}]}
    page.write_text(text[:start] + json.dumps(spec) + text[end:])
    assert ("disclosure", "a chart shows a number that no published cell holds") in _gate(
        site, published)


def test_an_ssn_like_number_in_a_csv_is_refused(published: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(published / "site", site)
    csv = site / "downloads" / "state.csv"
    lines = csv.read_text().splitlines()
    lines[1] = lines[1].replace(",state,", ",state 078-05-1120,", 1)
    csv.write_text("\n".join(lines) + "\n")
    assert ("pii", "an SSN-like number (123-45-6789) appears") in _gate(site, published)


def test_a_search_index_entry_with_a_student_id_is_refused(published: Path,
                                                           tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(published / "site", site)
    student = pl.read_parquet(published / "extract" / "2024" / "enrollment.parquet",
                              columns=["student_id"])["student_id"][0]
    index = next((site / "assets").glob("search-index*.json"))
    doc = json.loads(index.read_text())
    doc["rows"].append(["s", student, "x", "y", "z"])
    index.write_text(json.dumps(doc))
    assert ("pii", "a student ID from the extract appears") in _gate(site, published)


def test_publishing_again_keeps_what_the_live_site_withholds(published: Path,
                                                              tmp_path: Path) -> None:
    """The live site's 2024 has another valid pattern than today's code gives (as after a
    change to protect()): 40 of today's published district rates withheld, with their
    complements.
    Published afresh, this release would show them, and a visitor who saved the live CSVs
    would hold both patterns. Publishing over the live site keeps what it withholds; the
    gate audits the two releases together."""
    from site_builder.incremental import protect_by_year

    policy = load_policy(SPECS / "policy.yaml")
    raw = pl.read_parquet(published / "aggregates" / "cells.parquet")
    fresh = read_release(published / "site")
    assert fresh is not None
    keys = list(KEY)
    rates = fresh.filter((pl.col("year") == 2024) & (pl.col("reason") == "")
                          & pl.col("n_meeting").is_not_null() & (pl.col("level") == "district")
                          & (pl.col("student_group") != "All students")).sort(keys).head(40)
    # Those 40 withheld, and nothing else said: protected from there, a valid pattern.
    planted = rates.with_columns(pl.lit("complementary").alias("reason"),
                                 *[pl.lit(None).alias(c) for c in ("n_students", "n_meeting",
                                                                   "rate")])
    other = protect_by_year(raw, policy, None, live=planted, log=lambda _: None)
    districts, schools = read_directory(published / "aggregates")
    live = tmp_path / "site"
    build_site(other, districts, schools, load_specs(SPECS), policy, live)
    before = read_release(live)
    assert before is not None

    def shown_where_live_withholds(release: pl.DataFrame) -> int:
        return release.join(before.filter(pl.col("reason").is_in(["primary", "complementary"])),
                            on=keys, nulls_equal=True).filter(pl.col("reason") == "").height

    assert shown_where_live_withholds(fresh) >= 40  # what publishing afresh would show
    run = reportcard("publish", "--extract", str(published / "extract"), "--site", str(live),
                     "--aggregates", str(tmp_path / "aggregates"), "--specs", str(SPECS))
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "protecting 2024 again, keeping what the live site withholds" in out
    # Kept from the live pattern, the same data give the live site's CSVs back, byte for byte.
    assert ("Releases: the live site's CSVs and this one's are the same, byte for byte" in out)
    after = read_release(live)
    assert after is not None and shown_where_live_withholds(after) == 0
    assert verify(live).ok


def test_a_new_school_year_published_over_the_live_site_protects_only_that_year(
        published: Path, tmp_path: Path) -> None:
    """Next autumn's extract: the same history, one year more, in which Kirksville closed
    Portageville Elem. (its pupils now at James Elementary) and opened Kirksville Early
    Learning for its pre-K and kindergarten. Publishing it over the live site protects 2026
    alone (2021-2025 read back from the cache: their raw cells are the same), the gate
    finds the same pattern in every earlier year, the earlier years' rows of every CSV are
    as they were, the pages count six years, and the closed school keeps its page."""
    live = tmp_path / "site"
    shutil.copytree(published / "site", live)
    shutil.copytree(published / "cache", tmp_path / "cache")
    extract = tmp_path / "extract"
    run = reportcard("synth", "--profile", "tiny", "--out", str(extract), "--seed",
                     "7", "--canaries", "3", "--years", "2021-2026")
    assert run.returncode == 0, run.stderr
    kirksville = pl.col("district_code") == "001091"
    for name in ("enrollment", "assessment"):
        path = extract / "2026" / f"{name}.parquet"
        df = pl.read_parquet(path)
        assert df.filter(kirksville & (pl.col("school_code") == "4060")).height
        school = (pl.when(kirksville & (pl.col("school_code") == "4060")).then(pl.lit("4080"))
                  .when(kirksville & (pl.col("school_code") == "4020")
                        & pl.col("grade").is_in(["PK", "K"])).then(pl.lit("4010"))
                  .otherwise(pl.col("school_code")))
        df.with_columns(school.alias("school_code")).write_parquet(path)
    with (extract / "directory" / "schools.csv").open("a", encoding="utf-8") as f:
        f.write("001091,4010,Kirksville Early Learning,elementary,PK,K\n")
    run = reportcard("publish", "--extract", str(tmp_path / "extract"), "--site", str(live),
                     "--aggregates", str(tmp_path / "aggregates"), "--specs", str(SPECS))
    out = " ".join((run.stdout + run.stderr).split())
    assert run.returncode == 0, out
    assert ("reusing 5 year(s) protected from identical raw cells (2021, 2022, 2023, 2024, "
            "2025); protecting 2026") in out
    assert "2025: the same pattern in both releases" in out
    before = pl.read_csv(published / "site" / "downloads" / "state.csv", infer_schema=False)
    after = pl.read_csv(live / "downloads" / "state.csv", infer_schema=False)
    assert after.filter(pl.col("year") != "2026").equals(before)
    assert after.filter(pl.col("year") == "2026").height > 0
    page = (live / "districts" / "001091" / "index.html").read_text("utf-8")
    assert "six-year trend" in page and "five-year" not in page
    assert "No students were reported in 2025-26 at <a" in page
    closed = (live / "schools" / "001091-4060" / "index.html").read_text("utf-8")
    assert "its last year with students: 2024-25" in closed and "rc-gone" in closed
    opened = (live / "schools" / "001091-4010" / "index.html").read_text("utf-8")
    assert "Kirksville Early Learning" in opened and "rc-gone" not in opened
    # Not every page has six years: the school that opened has one. Before, every place
    # had every year.
    home = (live / "index.html").read_text("utf-8")
    assert "with the state beside it and up to six years of results." in home
    home = (published / "site" / "index.html").read_text("utf-8")
    assert "with the state beside it and five years of results." in home
    assert verify(live).ok


def test_a_demo_of_another_synthetic_state_is_not_kept_to_the_live_one(
        published: Path, tmp_path: Path) -> None:
    """A demo of another seed published over the live demo (as `make demo PROFILE=...`
    does): the two synthetic states have no student in common, as the live site's manifest
    and the extract say, so the live patterns are not kept and the two releases are not
    audited together. (Any other live site is taken for the same students, however much
    changed: tests/test_disclosure_releases.py.)"""
    live = tmp_path / "site"
    shutil.copytree(published / "site", live)
    said = json.loads((live / "manifest.json").read_text("utf-8"))["extract_identity"]
    assert said == {"generator": "site_builder.synth", "generator_version": said[
        "generator_version"], "profile": "tiny", "seed": 7, "scale": 1.0}
    extract = tmp_path / "extract"
    run = reportcard("synth", "--profile", "tiny", "--out", str(extract), "--seed", "8",
                     "--canaries", "3")
    assert run.returncode == 0, run.stderr
    run = reportcard("publish", "--extract", str(extract), "--site", str(live),
                     "--aggregates", str(tmp_path / "aggregates"), "--specs", str(SPECS))
    out = " ".join((run.stdout + run.stderr).split())
    assert run.returncode == 0, out
    version = said["generator_version"]
    why = ("the live site was published from a synthetic state (profile tiny, seed 7, scale "
           f"1.0, generator_version {version}) and this extract is another (profile tiny, "
           f"seed 8, scale 1.0, generator_version {version}): they have no student in common")
    assert f"protect: {live.resolve()} is not a release of these students ({why})" in out
    assert f"Releases: not audited together: {why}" in out
    assert "keeping what the live site withholds" not in out
    assert json.loads((live / "manifest.json").read_text("utf-8"))["extract_identity"][
        "seed"] == 8
    assert verify(live).ok
