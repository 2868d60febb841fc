"""Reliability of ``reportcard publish``: bad inputs, SIGKILL at any instant, a full disk, and
two publishers at once. In every case the published ``site/`` is exactly the complete old
site or exactly the complete new one, and nothing half-made is left beside it.

One module-scoped, real publish of the tiny state (seed 7) is the "old" site. The "new" site
is a real publish of a copy of that extract with one district renamed in its public
directory, so the two trees differ in a few pages. Every trial runs the real CLI, with no test
double: a publish of inputs already published reuses their aggregates and the LP audit's
verdicts (``site_builder/incremental.py``: the inputs did not change), so it takes seconds;
the compute trials kill a real compute (their aggregates directory has no ``inputs.json``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import bad_inputs  # noqa: E402
import reliability_support as rs  # noqa: E402

from site_builder.disclosure import load_policy  # noqa: E402
from site_builder.errors import ReportcardError  # noqa: E402
from site_builder.site.build import build_site, read_directory  # noqa: E402
from site_builder.site.render import TEMPLATES  # noqa: E402
from site_builder.specs import load_specs  # noqa: E402

SPECS = rs.SPECS
STOPPED = "Publishing stopped at step '{}'; {}/ was not changed."


@dataclass(frozen=True)
class State:
    root: Path
    extract: Path
    site: Path
    """The published old site. Tests must leave it exactly as it is."""
    aggregates: Path
    new_extract: Path
    new_aggregates: Path
    trees: dict[str, dict[str, str]]
    """'old' and 'new': every file of each complete site, manifest.json excluded."""


def _no_manifest(t: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in t.items() if k != "manifest.json"}


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> State:
    root = tmp_path_factory.mktemp("reliability")
    run = rs.run(["synth", "--profile", "tiny", "--out", str(root / "extract"), "--seed", "7"])
    assert run.returncode == 0, run.stderr
    run = rs.run(["publish", "--extract", str(root / "extract"), "--site", str(root / "site"),
                  "--aggregates", str(root / "aggregates"), "--specs", str(SPECS)])
    assert run.returncode == 0, run.stderr
    new_extract = root / "extract-new"
    shutil.copytree(root / "extract", new_extract)
    districts = new_extract / "directory" / "districts.csv"
    text = districts.read_text()
    assert "KIRKSVILLE R-III," in text
    districts.write_text(text.replace("KIRKSVILLE R-III,", "KIRKSVILLE R-III (NEW NAME),", 1))
    side = root / "new-side"
    new_agg = root / "new-aggregates"
    run = rs.run(["publish", "--extract", str(new_extract), "--site", str(side / "site"),
                  "--aggregates", str(new_agg), "--specs", str(SPECS)])
    assert run.returncode == 0, run.stderr
    trees = {"old": _no_manifest(rs.tree(root / "site")),
             "new": _no_manifest(rs.tree(side / "site"))}
    assert trees["old"] != trees["new"]
    assert trees["old"].keys() == trees["new"].keys()
    return State(root, root / "extract", root / "site", root / "aggregates", new_extract,
                 new_agg, trees)


def aggregate_files(directory: Path) -> dict[str, tuple[str, int, int]]:
    """Every file of an aggregates dir with its hash, inode and mtime: a rewrite of the same
    bytes (write beside, rename into place) still shows."""
    out = {}
    for rel, digest in rs.tree(directory).items():
        st = (directory / rel).stat()
        out[rel] = (digest, st.st_ino, st.st_mtime_ns)
    return out


@dataclass
class Before:
    site: dict[str, str]
    aggregates: dict[str, tuple[str, int, int]]
    beside: list[str]


def before(s: State) -> Before:
    return Before(rs.tree(s.site), aggregate_files(s.aggregates), rs.entries(s.root))


def assert_nothing_changed(s: State, b: Before, *, aggregates: bool = True) -> None:
    assert rs.tree(s.site) == b.site, "site/ changed"
    assert rs.leftovers(s.root) == [], "a staging or build directory was left beside site/"
    assert rs.entries(s.root) == b.beside
    if aggregates:
        assert aggregate_files(s.aggregates) == b.aggregates, "the aggregates dir changed"


def refused(run: subprocess.CompletedProcess[str], step: str, site: Path) -> list[str]:
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert STOPPED.format(step, site) in run.stderr
    return run.stderr.splitlines()


# --- 1. bad inputs beyond the extract ---------------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


SPEC_CASES = {
    # name: (file, old text, new text, the exact error line with {path} for the file)
    "unknown_measure": (
        "attendance.yaml", "    measure: chronic_absence\n", "    measure: chronic_absense\n",
        "{path}: sections[1].measure: unknown measure 'chronic_absense' "
        "(known: attendance_90_90, chronic_absence)"),
    "unknown_group_family": (
        "attendance.yaml", "breakdowns: [Race/Ethnicity, Sex, Program]",
        "breakdowns: [Race/Ethnicity, Gender, Program]",
        "{path}: sections[0].breakdowns[1]: unknown breakdown 'Gender' "
        "(known: subject, grade, All, Race/Ethnicity, Sex, Program)"),
    "broken_indentation": (
        "attendance.yaml", "    label: Chronically absent\n", "      label: Chronically absent\n",
        "{path}: line 15, column 12: invalid YAML: mapping values are not allowed here "
        "(check the indentation)"),
    "policy_min_cell_size_missing": (
        "policy.yaml", "\nmin_cell_size: 30\n", "\n",
        "{path}: min_cell_size: Field required"),
    "policy_min_cell_size_below_the_mosis_30": (
        "policy.yaml", "\nmin_cell_size: 30\n", "\nmin_cell_size: 29\n",
        "{path}: min_cell_size: must be at least 30, the MOSIS minimum: no published number "
        "may disclose fewer than 30 students (got 29; a larger, stricter value is allowed)"),
}


@pytest.mark.parametrize("name", list(SPEC_CASES))
def test_a_bad_spec_stops_publish(name: str, state: State, tmp_path: Path) -> None:
    file, old, new, line = SPEC_CASES[name]
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    _edit(specs / file, old, new)
    b = before(state)
    run = rs.run(["publish", "--extract", str(state.extract), "--site", str(state.site),
                  "--aggregates", str(state.aggregates), "--specs", str(specs)])
    lines = refused(run, "compute", state.site)
    assert line.format(path=specs / file) in lines
    assert "1 error in the report specs; nothing was computed." in lines
    # The policy is checked with the specs, before anything is written.
    assert 'compute_aggregates.ipynb failed in cell 4 "Check the report specs":' in lines
    assert_nothing_changed(state, b, aggregates=False)
    assert aggregate_files(state.aggregates) == b.aggregates


@pytest.mark.slow
def test_compute_honours_the_min_cell_size_of_policy_yaml(state: State, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    _edit(specs / "policy.yaml", "\nmin_cell_size: 30\n", "\nmin_cell_size: 40\n")
    assert load_policy(specs / "policy.yaml").min_cell_size == 40  # a valid policy
    out = tmp_path / "aggregates"
    run = rs.run(["compute", "--extract", str(state.extract), "--out", str(out), "--specs",
                  str(specs)])
    assert run.returncode == 0, run.stderr
    shown = pl.read_parquet(out / "published.parquet").filter(
        ~pl.col("suppressed") & pl.col("n_students").is_between(1, 39))
    assert shown.height == 0, f"{shown.height} published cells describe 30-39 students"


@pytest.mark.parametrize("name", ["missing_file", "truncated_parquet",
                                  "duplicate_student_year"])
def test_a_bad_extract_stops_publish(name: str, state: State, tmp_path: Path) -> None:
    extract = tmp_path / "extract"
    shutil.copytree(state.extract, extract)
    expected = bad_inputs.CASES[name](extract)
    b = before(state)
    run = rs.run(["publish", "--extract", str(extract), "--site", str(state.site),
                  "--aggregates", str(state.aggregates), "--specs", str(SPECS)])
    lines = refused(run, "compute", state.site)
    assert 'compute_aggregates.ipynb failed in cell 5 "Validate the extract against the input ' \
           'contract":' in lines
    assert (f"1 problem found in the extract {extract}; nothing was computed. Fix the extract "
            "and run `reportcard validate` again.") in lines
    for want in expected.lines:
        assert want in lines
    assert_nothing_changed(state, b)


def _template_dir(tmp_path: Path) -> tuple[Path, str]:
    """district.html with ``page.county`` misspelt; returns the dir and the pinned message."""
    override = tmp_path / "templates"
    override.mkdir()
    text = (TEMPLATES / "district.html").read_text()
    old = "{{ page.county }}"
    assert old in text
    line = text[:text.index(old)].count("\n") + 1
    (override / "district.html").write_text(text.replace(old, "{{ page.county_name }}", 1))
    return override, (
        f"templates/district.html, line {line}: undefined variable: "
        "'site_builder.site.contexts.DistrictPage object' has no attribute 'county_name' "
        "(rendering district.html with DistrictPage)")


def test_an_undefined_template_variable_stops_build_site(state: State, tmp_path: Path) -> None:
    override, message = _template_dir(tmp_path)
    districts, schools = read_directory(state.aggregates)
    out = tmp_path / "out"
    with pytest.raises(ReportcardError) as err:
        build_site(pl.read_parquet(state.aggregates / "published.parquet"), districts, schools,
                   load_specs(SPECS), load_policy(SPECS / "policy.yaml"), out,
                   template_dir=override)
    assert str(err.value).splitlines() == [
        message, "  Hint: add the field to DistrictPage in site_builder/site/contexts.py or "
                 "fix its name in the template"]
    assert not out.exists()
    assert not (tmp_path / ".out.src").exists()  # no half-built sources left behind


def test_an_undefined_template_variable_stops_publish(state: State, tmp_path: Path) -> None:
    """The same misspelt template, edited in a copy of the repository whose CLI publishes
    (compute is reused: templates are not among its inputs)."""
    override, message = _template_dir(tmp_path)
    repo = rs.copy_repo(tmp_path / "repo")
    shutil.copyfile(override / "district.html",
                    repo / "site_builder" / "site" / "templates" / "district.html")
    b = before(state)
    run = rs.run(["publish", "--extract", str(state.extract), "--site", str(state.site),
                  "--aggregates", str(state.aggregates), "--specs", str(SPECS)], repo=repo)
    assert "compute: unchanged inputs, reusing" in " ".join(run.stderr.split())
    lines = refused(run, "build", state.site)
    assert message in lines
    assert_nothing_changed(state, b)


# --- the checker itself can fail ---------------------------------------------------------


def test_the_mixture_detector_catches_a_non_atomic_copy(state: State, tmp_path: Path) -> None:
    new_site = state.root / "new-side" / "site"
    site = tmp_path / "site"
    shutil.copytree(state.site, site)
    assert rs.classify(site, state.trees) == "old"
    changed = sorted(k for k in state.trees["old"] if state.trees["old"][k] !=
                     state.trees["new"][k])
    assert len(changed) >= 2
    # Killed after the first changed file: some pages new, the rest old.
    order = sorted(p.relative_to(new_site).as_posix() for p in new_site.rglob("*")
                   if p.is_file())
    rs.copy_in_place(new_site, site, stop_after=order.index(changed[0]) + 1)
    with pytest.raises(rs.Mixture):
        rs.classify(site, state.trees)
    # A site consistent with its own manifest, but still a mix of old and new pages.
    shutil.rmtree(site)
    shutil.copytree(state.site, site)
    shutil.copyfile(new_site / changed[0], site / changed[0])
    manifest = json.loads((site / "manifest.json").read_text())
    manifest["files"][changed[0]] = state.trees["new"][changed[0]]
    (site / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(rs.Mixture, match="none of"):
        rs.classify(site, state.trees)
    rs.copy_in_place(new_site, site, stop_after=10**6)
    assert rs.classify(site, state.trees) == "new"


# --- 2. SIGKILL at random points -----------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    name: str
    line: str
    """The stderr line (prefix) that starts the phase."""
    delay: tuple[float, float]
    """Seconds after that line to send SIGKILL, drawn uniformly."""


PHASES = {
    "compute": Phase("compute", "compute ...", (1.0, 12.0)),
    "build": Phase("build", "build ...", (0.0, 6.0)),
    "gate": Phase("gate", "gate and swap ...", (0.0, 4.0)),
    "manifest": Phase("manifest", "  gate and swap: writing manifest.json", (0.0, 0.05)),
    "fsync": Phase("fsync", "  gate and swap: flushing the staged site to disk", (0.0, 0.5)),
    "swap": Phase("swap", "  gate and swap: swapping it in", (0.0, 0.003)),
    "after swap": Phase("after swap", "  gate and swap: swapped", (0.0, 0.4)),
}
PLAN = (["compute"] * 3 + ["build"] * 6 + ["gate"] * 3 + ["manifest"] * 2 + ["fsync"] * 2
        + ["swap"] * 3 + ["after swap"] * 4)
"""23 trials; the order is shuffled with a seeded generator."""


def _publish_args(s: State, site: Path, target: str, aggregates: Path | None = None
                  ) -> list[str]:
    agg = aggregates or (s.aggregates if target == "old" else s.new_aggregates)
    extract = s.extract if target == "old" else s.new_extract
    return ["publish", "--extract", str(extract), "--site", str(site), "--aggregates",
            str(agg), "--specs", str(SPECS)]


@pytest.mark.slow
def test_sigkill_at_any_point_leaves_the_old_or_the_new_site(state: State,
                                                             tmp_path: Path) -> None:
    rng = random.Random(20261124)
    plan = list(PLAN)
    rng.shuffle(plan)
    site = tmp_path / "site"
    shutil.copytree(state.site, site)
    real_agg = tmp_path / "real-aggregates"
    shutil.copytree(state.aggregates, real_agg)
    current = rs.classify(site, state.trees)
    log: list[str] = []
    previous_pid: int | None = None
    for n, phase_name in enumerate(plan):
        phase = PHASES[phase_name]
        target = "new" if current == "old" else "old"
        if phase.name == "compute":
            # The real notebook (on a copy of the aggregates with no record of what made
            # them, so compute runs) would publish the old site.
            target = "old"
            (real_agg / "inputs.json").unlink(missing_ok=True)
            proc = rs.start(_publish_args(state, site, target, real_agg))
        else:
            proc = rs.start(_publish_args(state, site, target))
        started = proc.wait_for(lambda line: line.startswith("compute ..."), 120)
        assert started is not None, proc.text()
        if previous_pid is not None:  # the lock is free again and the debris is gone
            assert not [p for p in rs.leftovers(tmp_path) if p.endswith(f"-{previous_pid}")
                        or f"-{previous_pid}." in p], rs.leftovers(tmp_path)
        at = proc.wait_for(lambda line, p=phase: line.startswith(p.line), 120)
        assert at is not None, f"trial {n}: never reached {phase.line!r}\n{proc.text()}"
        delay = rng.uniform(*phase.delay)
        time.sleep(max(0.0, at + delay - time.monotonic()))
        kernels = proc.children() if phase.name == "compute" else []
        proc.kill()
        if phase.name != "compute":  # honestly reused: these inputs were published before
            assert "compute: unchanged inputs, reusing" in " ".join(proc.text().split())
        previous_pid = proc.proc.pid
        found = rs.classify(site, state.trees)
        assert found in (current, target), f"trial {n}"
        log.append(f"{n:2d} {phase.name:10s} +{delay:.3f}s exit {proc.proc.returncode}: "
                   f"{current} -> {found}; left {rs.leftovers(tmp_path)}")
        current = found
        if phase.name == "compute":
            deadline = time.monotonic() + 20
            while any(rs.pid_alive(k) for k in kernels) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not any(rs.pid_alive(k) for k in kernels), "the kernel outlived publish"
            for f in real_agg.glob("*.parquet"):  # visible files are whole files
                pl.read_parquet(f)
        if n % 4 == 3 or n == len(plan) - 1:
            # The next publish succeeds and leaves nothing behind.
            target = "new" if current == "old" else "old"
            done = rs.run(_publish_args(state, site, target))
            assert done.returncode == 0, done.stderr
            assert rs.classify(site, state.trees) == target
            assert rs.leftovers(tmp_path) == [], "debris of killed runs was not cleaned"
            current, previous_pid = target, None
    outcomes = [line.split(": ")[1].split(";")[0] for line in log]
    print("\n".join(log))
    # The trials did exercise both outcomes: some kills kept the old site, some the new.
    assert any(a != b for a, b in (o.split(" -> ") for o in outcomes))
    assert any(a == b for a, b in (o.split(" -> ") for o in outcomes))


# --- 3. a full disk ------------------------------------------------------------------------


@pytest.mark.slow
def test_a_full_disk_stops_publish_and_keeps_the_old_site(state: State,
                                                          tmp_path: Path) -> None:
    """A small tmpfs fills while the staging tree is built, while compute writes the
    aggregates on it, and while the gate runs (another program takes the space): each time
    a clear error with the hint, no traceback, site/ untouched and nothing half-written left."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(disk)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mount.stderr}")
    try:
        site = disk / "site"
        first = rs.run(_publish_args(state, site, "old"))
        assert first.returncode == 0, first.stderr
        used = shutil.disk_usage(disk).used
        # Room for about a fifth of a second copy of the site.
        size_k = (used + 3_000_000) // 1024
        subprocess.run(["mount", "-o", f"remount,size={size_k}k", str(disk)], check=True)
        b = rs.tree(site)
        full = rs.run(_publish_args(state, site, "new"))
        lines = refused(full, "build", site)  # the disk fills while the staging tree is built
        assert any("No space left on device" in line for line in lines), full.stderr
        assert any(line.startswith("  Hint: ") and "disk" in line for line in lines)
        assert rs.tree(site) == b
        assert rs.classify(site, state.trees) == "old"
        assert rs.leftovers(disk) == [], "the failed build's files still fill the disk"
        assert shutil.disk_usage(disk).used <= used + 64 * 1024

        # The disk fills during compute: the aggregates (and their cache, and the executed
        # notebook) are on it, with room for less than the raw cells.
        agg = disk / "aggregates"
        used = shutil.disk_usage(disk).used
        subprocess.run(["mount", "-o", f"remount,size={(used + 16_384) // 1024}k", str(disk)],
                       check=True)
        full = rs.run(_publish_args(state, site, "old", agg))
        lines = refused(full, "compute", site)
        assert any("No space left on device" in line for line in lines), full.stderr
        assert any(line.startswith("  Hint: ") and "is full" in line for line in lines)
        assert rs.tree(site) == b
        assert rs.leftovers(disk) == []
        half = [p for p in disk.rglob("*") if p.name.endswith(".tmp")]
        assert half == [], "half-written files were left on the full disk"
        assert not (agg / "inputs.json").exists()  # nothing there can be reused

        # Only the aggregates directory is on a full disk (the executed notebook is not): the
        # notebook itself fails to write the raw cells.
        agg_disk = tmp_path / "agg-disk"
        agg_disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(agg_disk)],
                       check=True)
        try:
            full = rs.run(_publish_args(state, site, "old", agg_disk))
            lines = refused(full, "compute", site)
            assert 'failed in cell 8 "Write the raw cells' in full.stderr, full.stderr
            assert any("No space left on device" in line for line in lines), full.stderr
            assert any(line.startswith("  Hint: ") and "is full" in line for line in lines)
            assert rs.tree(site) == b
            assert rs.entries(agg_disk) == [], "a half-written file was left"
        finally:
            subprocess.run(["umount", "-l", str(agg_disk)], check=False)

        # The disk fills during the gate (another program takes the space the staging tree
        # left): the manifest cannot be written.
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        before_gate = entries_on(disk)
        proc = rs.start(_publish_args(state, site, "new"))
        at = proc.wait_for(lambda line: line.startswith("gate and swap ..."), 300)
        assert at is not None, proc.text()
        filler = disk / "filler"
        with filler.open("wb") as f, pytest.raises(OSError):
            while True:
                f.write(b"\0" * (1 << 20))
                f.flush()
        assert proc.proc.wait(timeout=300) == 1, proc.text()
        proc.wait_for(lambda line: line == "<eof>", 10)
        text = proc.text()
        filler.unlink()
        assert STOPPED.format("gate and swap", site) in text and "Traceback" not in text, text
        assert "No space left on device" in text
        assert "Hint: the disk holding" in " ".join(text.split())
        assert rs.tree(site) == b
        assert rs.leftovers(disk) == [], "the staged site was left on the full disk"
        assert entries_on(disk) == before_gate

        again = rs.run(_publish_args(state, site, "new"))
        assert again.returncode == 0, again.stderr
        assert rs.classify(site, state.trees) == "new"
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def entries_on(disk: Path) -> list[str]:
    """Every path on the test disk but the site and the executed notebooks (kept by design)."""
    return sorted(p.relative_to(disk).as_posix() for p in disk.rglob("*")
                  if not p.relative_to(disk).as_posix().startswith(("site/", "runs/")))


# --- 4. two publishers at once ---------------------------------------------------------------


LOCKED = "another `reportcard publish` is already running (pid {pid} since "


@pytest.mark.slow
def test_two_publishes_at_once_one_refuses(state: State, tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(state.site, site)
    a = rs.start(_publish_args(state, site, "new"))
    b = rs.start(_publish_args(state, site, "new"))
    for p in (a, b):
        p.proc.wait(timeout=300)
        p.wait_for(lambda line: line == "<eof>", 10)
    codes = sorted((p.proc.returncode, i) for i, p in enumerate((a, b)))
    assert [c for c, _ in codes] == [0, 1], a.text() + b.text()
    winner, loser = (a, b) if codes[0][1] == 0 else (b, a)
    text = loser.text()
    assert "Traceback" not in text
    # The owner line is written just after the lock is taken, so a loser that comes within
    # microseconds of the winner may read "unknown".
    assert (LOCKED.format(pid=winner.proc.pid) in text
            or "another `reportcard publish` is already running (unknown)" in text), text
    assert "nothing was changed." in text
    assert "  Hint: wait for it to finish; site/ is only ever replaced whole." in text
    assert rs.classify(site, state.trees) == "new"
    assert rs.leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_second_publish_with_wait_runs_after_the_first(state: State,
                                                         tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(state.site, site)
    a = rs.start(_publish_args(state, site, "new"))
    assert a.wait_for(lambda line: line.startswith("build ..."), 120) is not None, a.text()
    b = rs.start([*_publish_args(state, site, "old"), "--wait", "300"])
    # While a holds the lock, b does nothing: site/ stays the old site until a swaps.
    assert b.wait_for(lambda line: line.startswith("compute ..."), 2) is None
    # When b starts, a has swapped its site in: b's own swap is seconds of work away. (Not
    # the two readers' clocks: their threads can see lines milliseconds out of order.)
    assert b.wait_for(lambda line: line.startswith("compute ..."), 300) is not None, b.text()
    assert rs.classify(site, state.trees) == "new"
    assert a.proc.wait(timeout=300) == 0, a.text()
    assert b.proc.wait(timeout=300) == 0, b.text()
    assert "Published " in a.text()
    assert rs.classify(site, state.trees) == "old"
    assert rs.leftovers(tmp_path) == []
