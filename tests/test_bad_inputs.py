"""Every case of the bad-input corpus (tests/bad_inputs.py) gives its pinned message.

For each case: the validator reports exactly the expected lines (file, row or key, column,
rule, examples), each with a Hint; an error stops ``validate_extract`` with InputError and
the CLI exits 1 without a traceback; a warning-only case passes with the warning on the
report; and validation never changes a byte of the extract.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from site_builder.contract import check_extract, validate_extract
from site_builder.errors import InputError

sys.path.insert(0, str(Path(__file__).parent))
import bad_inputs  # noqa: E402

RC = Path(sys.executable).parent / "reportcard"


@pytest.fixture(scope="session")
def valid_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("valid") / "extract"
    bad_inputs.make_valid_extract(root)
    return root


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_valid_extract_has_no_problem(valid_extract: Path) -> None:
    report = validate_extract(valid_extract)
    assert [p.render() for p in report.problems] == []
    assert report.years and all(report.counts[y]["enrollment"] > 0 for y in report.years)


def test_the_corpus_covers_at_least_25_cases() -> None:
    assert len(bad_inputs.CASES) >= 25


@pytest.mark.parametrize("name", list(bad_inputs.CASES))
def test_bad_input(name: str, valid_extract: Path, tmp_path: Path) -> None:
    root = tmp_path / "extract"
    shutil.copytree(valid_extract, root)
    expected = bad_inputs.CASES[name](root)
    before = snapshot(root)

    report = check_extract(root)
    heads = [p.render().split("\n")[0] for p in report.problems]
    assert heads == list(expected.lines)
    for p in report.problems:
        assert p.hint, f"no hint for: {p.render()}"
        assert p.render().split("\n")[1].startswith("  Hint: ")
        assert p.severity == expected.severity

    if expected.severity == "error":
        with pytest.raises(InputError) as err:
            validate_extract(root)
        message = str(err.value)
        assert message.startswith(f"{len(report.errors)} problem")
        for line in expected.lines:
            assert line in message
    else:
        ok = validate_extract(root)
        assert [p.render().split("\n")[0] for p in ok.warnings] == list(expected.lines)
        assert all(line in ok.summary() for line in expected.lines)
    assert snapshot(root) == before, "validation changed the extract"


@pytest.mark.parametrize("name", ["attended_more_than_enrolled", "byte_order_mark"])
def test_cli_exit_status(name: str, valid_extract: Path, tmp_path: Path) -> None:
    root = tmp_path / "extract"
    shutil.copytree(valid_extract, root)
    expected = bad_inputs.CASES[name](root)
    run = subprocess.run([str(RC), "validate", str(root)], capture_output=True, text=True,
                         timeout=120)
    assert "Traceback" not in run.stderr + run.stdout
    if expected.severity == "error":
        assert run.returncode == 1
        assert expected.lines[0] in run.stderr
        assert "nothing was computed" in run.stderr
    else:
        assert run.returncode == 0, run.stderr
        assert expected.lines[0] in run.stdout


def test_cli_valid_extract(valid_extract: Path) -> None:
    run = subprocess.run([str(RC), "validate", str(valid_extract)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "The extract meets the contract" in run.stdout
