"""``reportcard compute``: run ``notebooks/compute_aggregates.ipynb`` through papermill.

The notebook is the production step; this module only resolves paths and parameters, runs it
with a real kernel, and keeps the executed copy (restricted: it shows raw numbers) under
``<out>/../runs/`` -- ``build/runs/`` for the default ``build/aggregates`` -- named by UTC time
and parameters, e.g. ``20261124T051500Z_compute_aggregates_2021-2025.ipynb``, mode 0600.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from site_builder import incremental
from site_builder.extract import extract_years
from site_builder.notebook_tools import execute_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
COMPUTE_NOTEBOOK = NOTEBOOKS / "compute_aggregates.ipynb"


def years_label(years: tuple[int, ...] | list[int] | None) -> str:
    """2021-2025 for a run of years, 2022_2024 otherwise, all when not known."""
    if not years:
        return "all"
    ys = sorted(set(years))
    if len(ys) > 1 and ys == list(range(ys[0], ys[-1] + 1)):
        return f"{ys[0]}-{ys[-1]}"
    return "_".join(map(str, ys))


def run_path(runs_dir: Path, notebook: Path, label: str, now: datetime | None = None) -> Path:
    """A fresh path for an executed copy: ``<UTC time>_<notebook>_<label>.ipynb``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = runs_dir / f"{stamp}_{notebook.stem}_{label}.ipynb"
    n = 1
    while path.exists():
        n += 1
        path = runs_dir / f"{stamp}_{notebook.stem}_{label}_{n}.ipynb"
    return path


def _inputs(extract: Path, specs: Path, years: tuple[int, ...] | None,
            min_cell_size: int | None, protect: bool, live: bool = False) -> dict[str, Any]:
    """What the aggregates depend on (paths excluded: the same bytes anywhere are the same).
    ``live``: whether a published site's pattern was kept (its content is not hashed: the
    publication gate audits the two releases together, whatever computed this one)."""
    return incremental.compute_inputs(
        extract=extract, specs=specs, notebook=COMPUTE_NOTEBOOK,
        parameters={"years": sorted(years) if years else None,
                    "min_cell_size": min_cell_size, "protect_cells": protect,
                    "keep_live_pattern": live})


def run_compute(*, extract: Path, out: Path, specs: Path, years: tuple[int, ...] | None = None,
                progress: bool = True, min_cell_size: int | None = None,
                runs_dir: Path | None = None, protect: bool = True,
                cache_dir: Path | None = None, reuse: bool = True,
                live_site: Path | None = None) -> Path:
    """Compute the aggregates by executing the compute notebook; return the executed copy.

    ``<out>/inputs.json`` is written last, after a successful run (see
    :mod:`site_builder.incremental`). ``cache_dir`` (default ``<out>/../cache``) keeps each
    year's protected cells, reused when that year's raw cells are unchanged (``reuse=False``:
    protect every year again; the cache is neither read nor written). ``live_site``: the
    published site, if any; a year it publishes keeps what it withholds (see
    :func:`incremental.keep_live`).

    Raises :class:`~site_builder.notebook_tools.NotebookFailed` (a ReportcardError) naming the
    failed cell and its message, e.g. the contract's list of problems with the extract.
    """
    extract, out, specs = Path(extract).resolve(), Path(out).resolve(), Path(specs).resolve()
    cache = Path(cache_dir).resolve() if cache_dir else out.parent / "cache"
    params: dict[str, Any] = {
        "extract_dir": str(extract),
        "output_dir": str(out),
        "years": list(years) if years else None,
        "spec_dir": str(specs),
        "cache_dir": str(cache) if reuse else None,
        "live_site": str(Path(live_site).resolve()) if live_site else None,
    }
    if min_cell_size is not None:
        params["min_cell_size"] = min_cell_size
    if not protect:
        params["protect_cells"] = False
    runs = Path(runs_dir) if runs_dir else out.parent / "runs"
    label = years_label(years or extract_years(extract))
    output = run_path(runs, COMPUTE_NOTEBOOK, label)
    # Hash the inputs before the run: an extract changed while the notebook runs must not be
    # recorded as what these aggregates were made from.
    inputs = _inputs(extract, specs, years, min_cell_size, protect, live_site is not None)
    if progress:
        print(f"Running {COMPUTE_NOTEBOOK.name} -> {output}")
    # What the protect cell reuses and each year as it is done, on the console too.
    executed = execute_notebook(COMPUTE_NOTEBOOK, output, params, progress=progress,
                                echo=("protect:",) if progress else ())
    incremental.record(out, inputs)
    return executed


def compute_or_reuse(*, extract: Path, out: Path, specs: Path,
                     years: tuple[int, ...] | None = None, progress: bool = True,
                     live_site: Path | None = None) -> str:
    """``publish``'s compute step: reuse ``out`` when it holds exactly what compute wrote for
    these very inputs, else run compute. Returns what was done, for the progress output."""
    inputs = _inputs(Path(extract).resolve(), Path(specs).resolve(), years, None, True,
                     live_site is not None)
    fp, why = incremental.reusable(Path(out), inputs)
    if fp is not None:
        return f"unchanged inputs, reusing {out} (fingerprint {fp[:12]})"
    if progress:
        print(f"compute: {why}")
    run_compute(extract=extract, out=out, specs=specs, years=years, progress=progress,
                live_site=live_site)
    return "computed"
