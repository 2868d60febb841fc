"""Incremental publishing (issue #8, section 3): only the work a change needs, and the same
bytes as a clean build.

The end-to-end test runs the real CLI (papermill compute, protect, mkdocs build, gate, swap)
from a copy of the repository, so that a template line can really be edited: publish clean
(A); edit one template line and publish incrementally (B1: compute and every year's LP audit
reused); change one district's rows in one year and publish incrementally (B2: only that
year protected and audited again); publish the same inputs with nothing reused into a fresh
directory (C); B2 and C must be byte-identical, every file and the manifest. Then a second
correction, to another year (B3): the year B2 kept from the live pattern is read back.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from reliability_support import copy_repo

from site_builder import incremental

ROOT = Path(__file__).resolve().parents[1]
LEFT_OUT = ("site_builder.site", "site_builder.gate", "site_builder.cli", "site_builder.pipeline")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (function-level imports too)."""
    pkg = "site_builder." + ".".join(path.relative_to(incremental.PACKAGE).parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = pkg.rstrip(".").split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}
    return out


def test_the_compute_fingerprint_covers_every_module_compute_can_import() -> None:
    """The compute fingerprint leaves out the site builder, the gate, the CLI and pipeline
    (so a template edit does not recompute); that is only sound if no module it covers
    imports one of them. The notebook's own imports are checked the same way."""
    files = incremental.compute_code_files()
    rels = {p.relative_to(incremental.PACKAGE).as_posix() for p in files}
    assert {"compute.py", "disclosure/protect.py", "disclosure/audit.py", "incremental.py",
            "runner.py", "store.py", "synth/data/leas.csv"} <= rels
    assert not any(r.startswith(("site/", "gate/")) for r in rels)
    bad = []
    for p in files:
        if p.suffix == ".py":
            bad += [f"{p.name}: {m}" for m in _imports(p) if m.startswith(LEFT_OUT)]
    notebook = (ROOT / "notebooks" / "compute_aggregates.ipynb").read_text("utf-8")
    bad += [f"notebook: {m}" for m in re.findall(r"site_builder(?:\.\w+)+", notebook)
            if m.startswith(LEFT_OUT)]
    assert bad == []
    # The check itself can fail: the CLI imports the gate and the site builder.
    assert any(m.startswith(LEFT_OUT) for m in _imports(incremental.PACKAGE / "cli.py"))


def _inputs(tmp: Path, extract_text: str = "rows") -> dict[str, object]:
    extract = tmp / "extract"
    extract.mkdir(exist_ok=True)
    (extract / "a.csv").write_text(extract_text)
    return incremental.compute_inputs(extract=extract, specs=ROOT / "report_specs",
                                      notebook=ROOT / "notebooks" / "compute_aggregates.ipynb",
                                      parameters={"years": None})


def test_aggregates_are_reused_only_when_whole_and_made_from_these_inputs(
        tmp_path: Path) -> None:
    agg = tmp_path / "aggregates"
    (agg / "directory").mkdir(parents=True)
    for name in ("cells.parquet", "published.parquet", "directory/districts.csv"):
        (agg / name).write_bytes(name.encode())
    inputs = _inputs(tmp_path)
    assert incremental.reusable(agg, inputs)[0] is None  # never recorded
    fp = incremental.record(agg, inputs)
    assert incremental.reusable(agg, inputs) == (fp, "unchanged inputs")

    fp2, why = incremental.reusable(agg, _inputs(tmp_path, "other rows"))
    assert fp2 is None and why == "changed since the last compute: extract"
    _inputs(tmp_path)  # back to the recorded extract
    assert incremental.reusable(agg, inputs)[0] == fp

    (agg / "published.parquet").write_bytes(b"half a file")  # a changed output
    assert incremental.reusable(agg, inputs)[0] is None
    (agg / "published.parquet").write_bytes(b"published.parquet")
    (agg / ".published.parquet.tmp").write_bytes(b"x")  # debris of a killed run
    assert incremental.reusable(agg, inputs)[0] is None
    (agg / ".published.parquet.tmp").unlink()
    (agg / "directory" / "districts.csv").unlink()  # a missing output
    assert incremental.reusable(agg, inputs)[0] is None
    (agg / "directory" / "districts.csv").write_bytes(b"directory/districts.csv")
    assert incremental.reusable(agg, inputs)[0] == fp

    (agg / incremental.FINGERPRINT).unlink()
    assert incremental.reusable(agg, inputs)[0] is None
    (agg / incremental.FINGERPRINT).write_text("{")  # a torn file
    assert incremental.reusable(agg, inputs)[0] is None


def test_a_protected_year_is_keyed_by_its_exact_cells() -> None:
    from site_builder.disclosure import load_policy

    policy = load_policy(ROOT / "report_specs" / "policy.yaml")
    a = pl.DataFrame({"year": [2024, 2024], "n": [31, None]}, schema={"year": pl.Int32,
                                                                     "n": pl.Int64})
    b = a.with_columns(pl.col("n").fill_null(0))
    c = a.with_columns(pl.col("n").cast(pl.Int32))
    keys = {incremental.protect_key(df, policy) for df in (a, b, c)}
    assert len(keys) == 3
    assert incremental.protect_key(a.clone(), policy) == incremental.protect_key(a, policy)
    stricter = policy.model_copy(update={"min_cell_size": 40})
    assert incremental.protect_key(a, stricter) != incremental.protect_key(a, policy)


# --- end to end -------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI, importing the copy's site_builder (and running the copy's notebook)."""
    env = dict(os.environ, PYTHONPATH=str(repo), COLUMNS="200")
    env.pop("SOURCE_DATE_EPOCH", None)
    return subprocess.run([sys.executable, "-m", "site_builder.cli", *args], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=1800)


def _publish(repo: Path, extract: Path, where: Path, *extra: str) -> str:
    run = _cli(repo, "publish", "--extract", str(extract), "--site", str(where / "site"),
               "--aggregates", str(where / "aggregates"), "--specs",
               str(repo / "report_specs"), *extra)
    assert run.returncode == 0, run.stdout + run.stderr
    return " ".join((run.stdout + run.stderr).split())  # the console wraps long lines


def _change_one_district(extract: Path, year: int, district: str) -> int:
    """Drop a tenth of one district's test results in one year (students not tested)."""
    path = extract / str(year) / "assessment.parquet"
    df = pl.read_parquet(path)
    mine = df.filter(pl.col("district_code") == district)
    drop = set(mine["student_id"].unique().sort().to_list()[::10])
    kept = df.filter(~((pl.col("district_code") == district) & pl.col("student_id").is_in(drop)))
    kept.write_parquet(path)
    return df.height - kept.height


@pytest.mark.slow
def test_incremental_publish_equals_a_clean_build(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo")
    probe = _cli(repo, "--help")
    assert probe.returncode == 0, probe.stderr
    where = subprocess.run([sys.executable, "-c", "import site_builder; print(site_builder"
                            ".__file__)"], env=dict(os.environ, PYTHONPATH=str(repo)),
                           cwd=repo, capture_output=True, text=True)
    assert where.stdout.strip() == str(repo / "site_builder" / "__init__.py")
    extract = tmp_path / "extract"
    run = _cli(repo, "synth", "--profile", "tiny", "--out", str(extract), "--seed", "7",
               "--canaries", "3")
    assert run.returncode == 0, run.stderr
    inc = tmp_path / "incremental"

    # A: a clean publish.
    out_a = _publish(repo, extract, inc)
    site_a = _tree(inc / "site")
    assert "compute: no inputs.json" in out_a

    # B1: one template line changed. Nothing is computed or audited again; the pages are.
    template = repo / "site_builder" / "site" / "templates" / "district.html"
    text = template.read_text("utf-8")
    old = "{{ page.county }}"
    assert old in text
    template.write_text(text.replace(old, "{{ page.county }} (Missouri)", 1), "utf-8")
    out_b1 = _publish(repo, extract, inc)
    assert re.search(r"compute: unchanged inputs, reusing \S+aggregates \(fingerprint "
                     r"[0-9a-f]{12}\)", out_b1), out_b1
    assert "Running compute_aggregates.ipynb" not in out_b1
    assert "Years 2021, 2022, 2023, 2024, 2025: the same cells passed before" in out_b1
    site_b1 = _tree(inc / "site")
    changed = sorted(k for k in site_a if site_a[k] != site_b1.get(k))
    assert site_a.keys() == site_b1.keys()
    assert all(k.startswith("districts/") or k == "manifest.json" for k in changed), changed
    assert len(changed) > 1 and "(Missouri)" in (inc / "site" / changed[0]).read_text()

    # B2: one district's rows changed in one year: compute runs, but only 2024 is protected
    # and audited again (and again from the live site's pattern, which it keeps).
    live_b1 = tmp_path / "live-b1"
    shutil.copytree(inc / "site", live_b1)
    assert _change_one_district(extract, 2024, "002090") > 0
    out_b2 = _publish(repo, extract, inc)
    assert "compute: changed since the last compute: extract" in out_b2
    assert ("protect: reusing 4 year(s) protected from identical raw cells "
            "(2021, 2022, 2023, 2025); protecting 2024") in out_b2, out_b2
    assert re.search(r"protect: 2024 protected and audited \(1 of 1, [\d,]+ s so far\)",
                     out_b2), out_b2  # shown as each year is done, not only at the end
    assert "Years 2021, 2022, 2023, 2025: the same cells passed before" in out_b2
    assert "protecting 2024 again, keeping what the live site withholds" in out_b2
    site_b2 = _tree(inc / "site")
    assert site_b2 != site_b1

    # C: the same inputs, nothing reused, in a fresh directory, over the same live site.
    clean = tmp_path / "clean"
    clean.mkdir()
    shutil.copytree(live_b1, clean / "site")
    out_c = _publish(repo, extract, clean, "--no-reuse")
    assert "protect: reusing" not in out_c and "audit cache" not in out_c
    assert not (clean / "cache").exists()
    assert _tree(clean / "site") == site_b2  # every file, manifest.json included
    for name in ("published.parquet", "cells.parquet"):
        assert (clean / "aggregates" / name).read_bytes() == \
            (inc / "aggregates" / name).read_bytes(), name

    # B3: another correction, to 2023. 2024, kept in B2 and published, is the live pattern
    # now: given its own result, keep_pattern returns it, so it is read back, not kept again.
    assert _change_one_district(extract, 2023, "002090") > 0
    out_b3 = _publish(repo, extract, inc)
    assert ("protect: reusing 4 year(s) protected from identical raw cells "
            "(2021, 2022, 2024, 2025); protecting 2023") in out_b3, out_b3
    assert ("protect: 2024: reusing the year kept before from the same raw cells and the "
            "same live pattern") in out_b3, out_b3
    assert "protecting 2024 again" not in out_b3
