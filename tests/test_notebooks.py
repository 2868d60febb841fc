"""The workbench notebooks: committed clean, and each one really runs in a Jupyter kernel."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import polars as pl
import pytest

from site_builder.compute import compute_cells
from site_builder.disclosure import suppression_report
from site_builder.extract import load_extract
from site_builder.notebook_tools import (
    NotebookFailed,
    district_cells,
    execute_notebook,
    find_district,
    kernel_log_path,
    notebook_parameters,
    side_by_side,
)
from site_builder.runner import COMPUTE_NOTEBOOK, run_compute
from site_builder.specs import load_specs

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
HANDMADE = ROOT / "tests" / "golden" / "handmade_extract"


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic state when the generator is available, else the hand-made extract."""
    try:
        from site_builder.synth import generate
    except ImportError:
        return HANDMADE
    out = tmp_path_factory.mktemp("tiny") / "extract"
    generate(out, seed=7, years=(2023, 2024), scale=1.0, profile="tiny", canaries=0,
             fmt="parquet", progress=False)
    return out


@pytest.fixture(scope="module")
def computed(extract_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(executed notebook, aggregates dir) of one real `reportcard compute` run."""
    build = tmp_path_factory.mktemp("build") / "build"
    run = run_compute(extract=extract_dir, out=build / "aggregates", specs=ROOT / "report_specs",
                      progress=False)
    return run, build / "aggregates"


def outputs_text(path: Path) -> str:
    """Everything an executed notebook's cells output (not their source)."""
    nb = nbformat.read(path, as_version=4)
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            parts.append(o.get("text", ""))
            parts.extend(str(v) for v in o.get("data", {}).values())
            parts.extend(o.get("data", {}).keys())
    return "\n".join(parts)


def test_notebooks_exist() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {"compute_aggregates.ipynb", "district_profile.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_clean_with_one_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_runs(path: Path, extract_dir: Path, computed: tuple[Path, Path],
                             tmp_path: Path) -> None:
    _, aggregates = computed
    districts = load_extract(extract_dir).districts["district_code"].sort().to_list()
    candidates = {
        "extract_dir": str(extract_dir), "extract": str(extract_dir),
        "output_dir": str(tmp_path / "aggregates"), "aggregate_dir": str(aggregates),
        "spec_dir": str(ROOT / "report_specs"), "district_code": districts[0],
        "years": None,
    }
    params = {k: v for k, v in candidates.items() if k in notebook_parameters(path)}
    out = execute_notebook(path, tmp_path / "runs" / path.name, params, progress=False)
    executed = nbformat.read(out, as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # Charts are static SVG (vl-convert): an executed copy opened as HTML, or read offline,
    # loads nothing from another host (altair's default output fetches Vega from a CDN).
    charts = [c for c in executed.cells if c.cell_type == "code" and "alt.Chart" in c.source]
    text = outputs_text(out)
    assert text.count("image/svg+xml") >= len(charts)
    assert "application/vnd.vegalite" not in text and "cdn.jsdelivr" not in text


def test_compute_notebook_matches_library(extract_dir: Path, computed: tuple[Path, Path]) -> None:
    run, aggregates = computed
    assert re.fullmatch(r"\d{8}T\d{6}Z_compute_aggregates_[\d_-]+\.ipynb", run.name), run.name
    assert run.parent == aggregates.parent / "runs"
    assert stat.S_IMODE(run.stat().st_mode) == 0o600
    assert stat.S_IMODE((aggregates / "cells.parquet").stat().st_mode) == 0o600
    expected = compute_cells(load_extract(extract_dir), load_specs(ROOT / "report_specs"))
    assert pl.read_parquet(aggregates / "cells.parquet").equals(expected)


def test_the_executed_compute_notebook_holds_the_suppression_report(
        computed: tuple[Path, Path]) -> None:
    """The audit trail shows what each rule withheld per table and over all tables, and the
    share published: the library's report of the cells that were published."""
    run, aggregates = computed
    text = outputs_text(run)
    report = suppression_report(pl.read_parquet(aggregates / "published.parquet"))
    overall = report.filter(pl.col("topic") == "All tables").row(0, named=True)
    for column in ("primary", "complementary", "top_coded", "bottom_coded", "published",
                   "share_published"):
        assert column in text, column
    assert "All tables" in text
    assert report.height >= 5  # the tables and the overall row, none cut from the display
    for r in report.iter_rows(named=True):
        assert f"{r['topic']}" in text and f"{r['cells']}" in text, r
    assert f"{overall['share_published']}" in text


def test_profile_marks_internal_and_unprotected(extract_dir: Path, computed: tuple[Path, Path],
                                                tmp_path: Path) -> None:
    _, aggregates = computed
    raw_only = tmp_path / "aggregates"  # raw cells only: disclosure control has not run
    raw_only.mkdir()
    (raw_only / "cells.parquet").write_bytes((aggregates / "cells.parquet").read_bytes())
    code = load_extract(extract_dir).districts["district_code"].sort().to_list()[0]
    out = execute_notebook(ROOT / "notebooks" / "district_profile.ipynb", tmp_path / "p.ipynb",
                           {"district_code": code, "extract_dir": str(extract_dir),
                            "aggregate_dir": str(raw_only)}, progress=False)
    text = outputs_text(out)
    assert "NOT PROTECTED YET" in text and "INTERNAL n_students" in text
    assert text.count("image/svg+xml") >= 3  # the altair charts rendered


def test_profile_unknown_district_lists_near_matches(computed: tuple[Path, Path],
                                                     tmp_path: Path) -> None:
    _, aggregates = computed
    with pytest.raises(NotebookFailed) as info:
        execute_notebook(ROOT / "notebooks" / "district_profile.ipynb", tmp_path / "p.ipynb",
                         {"district_code": "001011", "extract_dir": str(HANDMADE),
                          "aggregate_dir": str(aggregates)}, progress=False)
    msg = str(info.value)
    assert msg.startswith('district_profile.ipynb failed in cell ')
    assert '"Find the district"' in msg
    assert "unknown district code '001011'" in msg
    assert "Near matches: 001001 (Adair Test R-I)" in msg
    assert "Traceback" not in msg


def test_the_readmes_papermill_command_finds_a_district_whose_code_starts_with_0(
        extract_dir: Path, computed: tuple[Path, Path], tmp_path: Path) -> None:
    """The README's command, as an analyst types it: ``papermill -p`` reads 001091 as the
    number 1091, which the profile takes as the code it was (it failed: "unknown district
    code '1091'")."""
    _, aggregates = computed
    out = tmp_path / "kirksville.ipynb"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "papermill"), str(ROOT / "notebooks" /
         "district_profile.ipynb"), str(out), "-p", "district_code", "001091",
         "-p", "extract_dir", str(extract_dir), "-p", "aggregate_dir", str(aggregates)],
        capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "001091 KIRKSVILLE R-III" in outputs_text(out).upper()


@pytest.mark.parametrize("typed", [1091, "1091", " 001091 "])
def test_a_district_code_without_its_leading_zeros_is_found(typed: str | int) -> None:
    districts = pl.DataFrame({"district_code": ["001090", "001091"],
                              "district_name": ["ADAIR CO. R-I", "KIRKSVILLE R-III"]})
    assert find_district(districts, typed)["district_name"] == "KIRKSVILLE R-III"


def test_the_profiles_tables_show_the_groups_and_numbers_not_what_every_row_repeats(
        computed: tuple[Path, Path]) -> None:
    """The district profile's public-beside-INTERNAL tables: a column with one value in
    every row (the level, the district's code, the one measure and grade asked for) or
    empty in every row (an enrollment count's numerator) pushed the groups' names and
    numbers off the notebook's width, behind polars' "..." column."""
    _, aggregates = computed
    raw = pl.read_parquet(aggregates / "cells.parquet")
    code = raw.filter(pl.col("level") == "district")["district_code"].sort()[0]
    raw = district_cells(raw, code)
    published = district_cells(pl.read_parquet(aggregates / "published.parquet"), code)
    year = int(raw["year"].max())
    enrolled = side_by_side(raw, published, topic="enrollment", year=year, grade="All")
    assert enrolled.columns == ["group_family", "student_group", "public display",
                                "public suppression", "INTERNAL n_students"]
    all_students = raw.filter(pl.col("level") == "district", pl.col("year") == year,
                              pl.col("measure") == "enrollment", pl.col("grade") == "All",
                              pl.col("student_group") == "All students")["n_students"][0]
    assert enrolled.filter(pl.col("student_group") == "All students").row(0) == (
        "All", "All students", f"{all_students:,}", "", all_students)
    tested = side_by_side(raw, published, topic="assessment", year=year,
                          measure="proficient_or_advanced", grade="All")
    assert tested.columns[:3] == ["subject", "group_family", "student_group"]
    assert "INTERNAL rate %" in tested.columns and "INTERNAL n_meeting" in tested.columns
    assert tested.height == published.filter(
        pl.col("level") == "district", pl.col("year") == year,
        pl.col("measure") == "proficient_or_advanced", pl.col("grade") == "All").height
    # Without a filter, what differs stays: attendance has two measures.
    assert "measure" in side_by_side(raw, published, topic="attendance", year=year).columns
    unprotected = side_by_side(raw, None, topic="enrollment", year=year, grade="All")
    assert set(unprotected["public display"]) == {"(not protected yet)"}


def test_bad_extract_names_cell_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "extract"
    import shutil

    shutil.copytree(HANDMADE, bad)
    p = bad / "2024" / "enrollment.csv"
    p.write_text(p.read_text().replace("1001,03,M,WH,false,false,false,180,162",
                                       "1001,03,M,WH,false,false,false,180,190"))
    with pytest.raises(NotebookFailed) as info:
        run_compute(extract=bad, out=tmp_path / "build" / "aggregates",
                    specs=ROOT / "report_specs", progress=False)
    msg = str(info.value)
    assert msg.startswith('compute_aggregates.ipynb failed in cell ')
    assert '"Validate the extract against the input contract"' in msg
    assert "enrollment.csv: row 2, column days_attended" in msg
    assert "Traceback" not in msg and "PapermillExecutionError" not in msg
    assert not (tmp_path / "build" / "aggregates" / "cells.parquet").exists()
    kept = list((tmp_path / "build" / "runs").glob("*_compute_aggregates_2024.ipynb"))
    assert len(kept) == 1 and str(kept[0]) in msg


def test_unknown_parameter_is_refused_before_running(tmp_path: Path) -> None:
    with pytest.raises(NotebookFailed) as info:
        execute_notebook(COMPUTE_NOTEBOOK, tmp_path / "x.ipynb", {"extract": "x",
                                                                  "min_cell_size": 10})
    assert str(info.value) == (
        f"{COMPUTE_NOTEBOOK}: unknown parameter extract (known: cache_dir, extract_dir, "
        "live_site, min_cell_size, output_dir, protect_cells, spec_dir, years)")
    assert not (tmp_path / "x.ipynb").exists()


def test_bad_spec_is_reported_from_the_notebook(tmp_path: Path) -> None:
    import shutil

    specs = tmp_path / "report_specs"
    shutil.copytree(ROOT / "report_specs", specs)
    p = specs / "graduation.yaml"
    p.write_text(p.read_text().replace("measure: graduation_4yr", "measure: grad"))
    with pytest.raises(NotebookFailed) as info:
        run_compute(extract=HANDMADE, out=tmp_path / "build" / "aggregates", specs=specs,
                    progress=False)
    msg = str(info.value)
    assert '"Check the report specs"' in msg
    assert "graduation.yaml: sections[0].measure: unknown measure 'grad'" in msg


def test_run_names() -> None:
    from datetime import UTC, datetime

    from site_builder.runner import run_path, years_label

    assert years_label((2021, 2022, 2023, 2024, 2025)) == "2021-2025"
    assert years_label([2024, 2022]) == "2022_2024"
    assert years_label((2024,)) == "2024"
    assert years_label(None) == "all"
    now = datetime(2026, 11, 24, 5, 15, tzinfo=UTC)
    p = run_path(Path("/nonexistent/runs"), COMPUTE_NOTEBOOK, "2021-2025", now)
    assert p.name == "20261124T051500Z_compute_aggregates_2021-2025.ipynb"


def test_cli_compute_failure_is_one_clear_message(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from site_builder.cli import main

    result = CliRunner().invoke(main, ["compute", "--extract", str(tmp_path / "none"),
                                       "--out", str(tmp_path / "build" / "aggregates")])
    assert result.exit_code == 1
    assert 'compute_aggregates.ipynb failed in cell' in result.output
    assert "Traceback" not in result.output


def test_profile_shows_public_view_when_published(computed: tuple[Path, Path],
                                                  extract_dir: Path, tmp_path: Path) -> None:
    """With published.parquet present, the profile shows its display and suppression marks."""
    import shutil

    from site_builder.cells import PUBLISHED_EXTRA

    _, aggregates = computed
    agg = tmp_path / "aggregates"
    shutil.copytree(aggregates, agg)
    raw = pl.read_parquet(agg / "cells.parquet")
    hidden = pl.col("n_students") < 30
    published = raw.with_columns(
        pl.when(hidden).then(None).otherwise(pl.col("n_students")).alias("n_students"),
        pl.when(hidden).then(None).otherwise(pl.col("n_meeting")).alias("n_meeting"),
        pl.lit(None, dtype=pl.Float64).alias("rate"),
        pl.when(hidden).then(pl.lit("*")).otherwise(pl.col("n_students").cast(pl.String))
        .alias("display"),
        hidden.alias("suppressed"),
        pl.when(hidden).then(pl.lit("primary")).otherwise(pl.lit("")).alias("reason"),
    ).cast(PUBLISHED_EXTRA)  # type: ignore[arg-type]
    published.write_parquet(agg / "published.parquet")
    code = load_extract(extract_dir).districts["district_code"].sort().to_list()[0]
    out = execute_notebook(ROOT / "notebooks" / "district_profile.ipynb", tmp_path / "p.ipynb",
                           {"district_code": code, "extract_dir": str(extract_dir),
                            "aggregate_dir": str(agg)}, progress=False)
    text = outputs_text(out)
    assert "NOT PROTECTED YET" not in text
    assert "Public view:" in text and "public suppression" in text and "primary" in text


def _notebook(path: Path, source: str) -> Path:
    """A two-cell notebook: an empty parameters cell, then ``source``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell("# Parameters")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)
    return path


def test_the_kernels_own_messages_go_to_its_log_not_the_console(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # What the kernel writes to its stderr as it shuts down (as a traceback of its event loop
    # racing the closing sockets once did, after a clear error message) must not reach the
    # console: it is kept beside the executed notebook.
    nb = _notebook(tmp_path / "say.ipynb", "# Say something as the kernel exits\n"
                   "import atexit, os\natexit.register(os.write, 2, b'said at exit\\n')")
    out = execute_notebook(nb, tmp_path / "runs" / "say.ipynb", {}, progress=False)
    log = kernel_log_path(out)
    assert log == tmp_path / "runs" / "say.kernel.log"
    assert "said at exit" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "said at exit" not in capfd.readouterr().err


def test_a_kernel_that_dies_is_named_with_its_log(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "die.ipynb", "# Die\nimport os, signal, sys\n"
                   "sys.__stderr__.write('last words\\n'); sys.__stderr__.flush()\n"
                   "os.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(NotebookFailed) as info:
        execute_notebook(nb, tmp_path / "runs" / "die.ipynb", {}, progress=False)
    msg = str(info.value)
    assert msg.startswith("die.ipynb: the notebook's kernel died before it finished.")
    assert f"The end of the kernel's log ({tmp_path / 'runs' / 'die.kernel.log'}):" in msg
    assert "last words" in msg  # the end of the log, where a crash would say why
    assert "Traceback" not in msg and "DeadKernelError" not in msg
