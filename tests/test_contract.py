"""The contract check: driven by schema.py, all problems at once, exact messages, no PII.

The per-case corpus is in test_bad_inputs.py; this file tests the properties that hold
across cases.
"""

from __future__ import annotations

import json
import shutil
import sys
from datetime import date
from pathlib import Path

import nbformat
import papermill
import polars as pl
import pytest

from site_builder import dictionary, schema
from site_builder.contract import check_extract, validate_extract
from site_builder.errors import InputError
from site_builder.extract import load_extract

sys.path.insert(0, str(Path(__file__).parent))
import bad_inputs  # noqa: E402

HANDMADE = Path(__file__).parent / "golden" / "handmade_extract"


@pytest.fixture(scope="session")
def valid_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("valid") / "extract"
    bad_inputs.make_valid_extract(root)
    return root


@pytest.fixture
def extract(valid_extract: Path, tmp_path: Path) -> Path:
    root = tmp_path / "extract"
    shutil.copytree(valid_extract, root)
    return root


def test_handmade_golden_extract_is_valid() -> None:
    report = validate_extract(HANDMADE)
    assert report.problems == []
    assert report.counts == {2024: {"enrollment": 18, "assessment": 27, "graduation": 6}}
    assert report.summary().splitlines()[:2] == [
        f"Extract {HANDMADE}: 1 year (2024), 2 districts, 3 schools",
        "  2024: 18 students, 27 test results, 6 cohort members",
    ]


def test_counts_are_the_rows_of_each_file(extract: Path) -> None:
    report = validate_extract(extract)
    for year in report.years:
        for name in ("enrollment", "assessment", "graduation"):
            rows = pl.read_parquet(bad_inputs.path_of(extract, name, year)).height
            assert report.counts[year][name] == rows
    sizes = report.district_sizes.filter(pl.col("year") == report.years[-1])
    assert sizes["students"].sum() == report.counts[report.years[-1]]["enrollment"]


def test_a_csv_extract_is_valid_too(extract: Path) -> None:
    for year in bad_inputs.extract_years(extract):
        for name in ("enrollment", "assessment", "graduation"):
            p = bad_inputs.path_of(extract, name, year)
            pl.read_parquet(p).write_csv(p.with_suffix(".csv"))
            p.unlink()
    assert validate_extract(extract).problems == []


def test_missing_extract_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        validate_extract(tmp_path / "nowhere")
    assert str(err.value).splitlines()[1] == (
        f"{tmp_path / 'nowhere'}: extract directory does not exist")


def test_every_problem_is_listed_at_once(extract: Path) -> None:
    names = ["missing_column", "unknown_district", "bad_achievement_level", "mixed_years",
             "byte_order_mark"]
    # Each case breaks a different file or column, so they can be combined.
    expected = [line for n in names for line in bad_inputs.CASES[n](extract).lines]
    with pytest.raises(InputError) as err:
        validate_extract(extract)
    message = str(err.value)
    assert message.splitlines()[0] == (
        f"4 problems found in the extract {extract}; nothing was computed. Fix the extract "
        "and run `reportcard validate` again.")
    for line in expected:
        assert line in message
    assert len(err.value.problems) == 5


def test_full_message_with_hint(extract: Path) -> None:
    bad_inputs.CASES["attended_more_than_enrolled"](extract)
    (problem,) = check_extract(extract).problems
    p = bad_inputs.path_of(extract, "enrollment")
    assert problem.render() == (
        f"{p}: row 17, column days_attended: days attended is greater than days enrolled "
        '(2 rows; e.g. "181 > 174", "200 > 12")\n'
        "  Hint: days_attended counts days present out of days_enrolled; check that the two "
        "columns are not swapped and that both cover the same school")


def _constrained_columns() -> list[tuple[str, str, str]]:
    """(file, column, constraint) for every declared code set, pattern, minimum, maximum."""
    out = []
    for spec in schema.ALL_FILES:
        for col in spec.columns:
            for attr in ("codes", "pattern", "min", "max"):
                if getattr(col, attr) is not None:
                    out.append((spec.name, col.name, attr))
    return out


def _breaking_value(col: schema.Column, attr: str) -> object:
    if attr == "codes":
        return "ZZ"
    if attr == "pattern":
        return "x1"
    assert col.min is not None and col.max is not None
    return col.min - 1 if attr == "min" else col.max + 1


@pytest.mark.parametrize(("name", "column", "attr"), _constrained_columns())
def test_every_declared_constraint_is_enforced(extract: Path, name: str, column: str,
                                               attr: str) -> None:
    """The checks come from schema.py: breaking any declared constraint is reported."""
    spec = schema.FILES_BY_NAME[name]
    col = spec.column(column)
    p = bad_inputs.path_of(extract, name)
    df = bad_inputs.read(p)
    value = _breaking_value(col, attr)
    if isinstance(value, str) and df.schema[column] != pl.String:
        df = df.with_columns(pl.col(column).cast(pl.String))
    bad_inputs.write(bad_inputs.set_cell(df, 2, column, value), p)
    report = check_extract(extract)
    hits = [x for x in report.errors if x.file == str(p) and x.column == column and x.row == 2]
    assert hits, "\n".join(x.render() for x in report.problems)


def test_load_extract_drops_every_pii_column(extract: Path) -> None:
    """Canary values planted in every PII column appear nowhere in the loaded frames."""
    year = bad_inputs.last_year(extract)
    p = bad_inputs.path_of(extract, "enrollment", year)
    df = bad_inputs.read(p)
    canaries = {"first_name": "Qzxcanaryfirst", "last_name": "Qzxcanarylast",
                "ssn": "987650123"}
    for column, value in canaries.items():
        df = bad_inputs.set_cell(df, 3, column, value)
    df = bad_inputs.set_cell(df, 3, "birth_date", date(1901, 2, 3))
    bad_inputs.write(df, p)
    validate_extract(extract)  # still a valid extract

    loaded = load_extract(extract)
    ids = set(df["student_id"].to_list())
    frames = {"districts": loaded.districts, "schools": loaded.schools,
              "enrollment": loaded.enrollment.collect(),
              "assessment": loaded.assessment.collect(),
              "graduation": loaded.graduation.collect()}
    assert frames["enrollment"].height == sum(
        bad_inputs.read(bad_inputs.path_of(extract, "enrollment", y)).height
        for y in bad_inputs.extract_years(extract))
    for name, frame in frames.items():
        assert not set(frame.columns) & schema.PII_COLUMNS, name
        text = frame.select(pl.all().cast(pl.String)).unpivot()["value"].drop_nulls()
        values = set(text.to_list())
        assert not values & set(canaries.values()), name
        assert "1901-02-03" not in values, name
        assert not values & ids, f"{name} carries student IDs"


def test_messages_never_show_pii_values(extract: Path) -> None:
    p = bad_inputs.path_of(extract, "enrollment")
    df = bad_inputs.read(p)
    df = bad_inputs.set_cell(df, 4, "student_id", "12345")
    df = bad_inputs.set_cell(df, 6, "student_id", "ABCDE12345")
    df = bad_inputs.set_cell(df, 8, "ssn", "12-34")
    bad_inputs.write(pl.concat([df, df.slice(9, 1)]), p)
    report = check_extract(extract)
    text = report.summary()
    for secret in ("12345", "ABCDE12345", "12-34", df["student_id"][9]):
        assert secret not in text.replace(str(extract), "")
    assert f"{p}: row 4, column student_id: value is not 10 digits (2 rows; e.g. row 4, " \
           "row 6)" in text
    assert f"{p}: row 8, column ssn: value is not 9 digits" in text


def test_data_dictionary_is_up_to_date() -> None:
    """docs/extract_data_dictionary.md is generated from schema.py; regenerate it with
    `.venv/bin/python -m site_builder.dictionary` when this fails."""
    committed = dictionary.DEFAULT_PATH.read_text(encoding="utf-8")
    assert committed == dictionary.render(), (
        "docs/extract_data_dictionary.md is out of date: run "
        "`.venv/bin/python -m site_builder.dictionary`")


def test_data_dictionary_documents_every_column() -> None:
    text = dictionary.render()
    for spec in schema.ALL_FILES:
        section = text.split(f"## {spec.name}\n", 1)[1].split("\n## ", 1)[0]
        for col in spec.columns:
            row = next(line for line in section.splitlines() if line.startswith(f"| `{col.name}`"))
            assert col.description in row
            assert ("**PII**" in row) == col.pii


NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "validate_extract.ipynb"


def test_notebook_is_committed_clean() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert 'extract_dir = "data/extract"' in tagged[0].source
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_reports_problems(extract: Path, tmp_path: Path) -> None:
    expected = bad_inputs.CASES["attended_more_than_enrolled"](extract)
    out = tmp_path / "validate_extract.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters={"extract_dir": str(extract)},
                               kernel_name="python3", progress_bar=False,
                               cwd=str(NOTEBOOK.parents[1]))
    nb = nbformat.read(out, as_version=4)
    text = "\n".join(o.get("text", "") if isinstance(o.get("text", ""), str) else ""
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert expected.lines[0] in text
    assert "1 error: fix the extract before computing." in text
    # The four charts, as static SVG (no Vega-Lite for a browser to fetch Vega for).
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) == 4
    assert not [o for o in outputs if any("vegalite" in k for k in o.get("data", {}))
                or "vegaEmbed" in o.get("data", {}).get("text/html", "")]


def test_notebook_can_fail_the_run(extract: Path, tmp_path: Path) -> None:
    bad_inputs.CASES["negative_days"](extract)
    with pytest.raises(papermill.PapermillExecutionError):
        papermill.execute_notebook(
            str(NOTEBOOK), str(tmp_path / "out.ipynb"),
            parameters={"extract_dir": str(extract), "fail_on_error": True},
            kernel_name="python3", progress_bar=False)


@pytest.mark.slow
def test_full_state_validates(tmp_path: Path) -> None:
    """A Missouri-size extract (about 890k students x 5 years, 5.6M test results) passes the
    contract. How long that takes is measured in benchmarks/ (make bench), not asserted here:
    the machine is shared."""
    from site_builder.synth import generate

    root = tmp_path / "state"
    generate(root, seed=7, profile="state")
    report = check_extract(root)
    assert sum(per["enrollment"] for per in report.counts.values()) > 4_000_000
    assert report.ok, [str(p) for p in report.errors[:5]]
    print(f"validated in {report.seconds:.1f} s")


def test_synth_canaries_do_not_survive_load_extract(tmp_path: Path) -> None:
    """The generator's own canary students (canaries.json) pass validation, and none of their
    PII values (name, SSN, student ID, birth date) is in any frame load_extract returns."""
    from site_builder.synth import generate

    root = tmp_path / "extract"
    generate(root, seed=7, profile="tiny", years=(2023, 2024), canaries=3)
    canaries = json.loads((root / "canaries.json").read_text())["canaries"]
    assert len(canaries) == 3
    validate_extract(root)
    secrets = {str(c[k]) for c in canaries for k in schema.PII_COLUMNS if k in c}
    assert {"Canary", "9990000001"} <= secrets
    loaded = load_extract(root)
    frames = [loaded.districts, loaded.schools, loaded.enrollment.collect(),
              loaded.assessment.collect(), loaded.graduation.collect()]
    assert frames[2].height > 0 and frames[3].height > 0
    for frame in frames:
        assert not set(frame.columns) & schema.PII_COLUMNS
        values = set(frame.select(pl.all().cast(pl.String)).unpivot()["value"].drop_nulls())
        assert not values & secrets
