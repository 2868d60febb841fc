"""``reportcard publish``: the whole path from an extract to a gated, published site.

Each step is a function the analyst can also call alone from a notebook; this module only
puts them in order, holds the publish lock, and makes sure a failure at any step leaves the
published ``site/`` exactly as it was (see :mod:`site_builder.gate.publish`).
"""

from __future__ import annotations

import errno
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from site_builder.errors import ReportcardError
from site_builder.gate import require_pass
from site_builder.gate.publish import (
    PublishLock,
    PublishResult,
    clean_stale_staging,
    publish_staged,
    staging_dir,
)


@dataclass
class PublishOptions:
    extract: Path = Path("data/extract")
    site: Path = Path("site")
    specs: Path = Path("report_specs")
    aggregates: Path = Path("build/aggregates")
    years: tuple[int, ...] | None = None
    progress: bool = True
    wait: float = 0.0
    """Seconds to wait for another publish to finish before refusing."""
    timings: dict[str, float] = field(default_factory=dict)
    reuse: bool = True
    """Reuse what unchanged inputs already produced: the aggregates (when their fingerprint
    matches), each year's protected cells, each year's passing LP audit (see
    :mod:`site_builder.incremental`). False: compute and audit everything again."""


class StepFailed(ReportcardError):
    def __init__(self, step: str, err: Exception, site: Path = Path("site")) -> None:
        super().__init__(f"Publishing stopped at step '{step}'; {site}/ was not changed.\n{err}")


def _step(name: str, opts: PublishOptions, console: Console, fn: Callable[[], object]) -> object:
    started = time.perf_counter()
    if opts.progress:
        console.print(f"[bold]{name}[/bold] ...")
    try:
        result = fn()
    except StepFailed:
        raise
    except ReportcardError as err:
        if _disk_full(err):  # e.g. the compute notebook could not write the aggregates
            err = ReportcardError(f"{err}\n{_disk_hint(opts)}")
        raise StepFailed(name, err, opts.site) from None
    except OSError as err:
        # A full disk is not a bug: say so, without a traceback.
        if not _disk_full(err):
            raise
        raise StepFailed(name, ReportcardError(f"{err}\n{_disk_hint(opts)}"), opts.site) from None
    opts.timings[name] = time.perf_counter() - started
    if opts.progress:
        console.print(f"  {name}: done in {opts.timings[name]:.1f} s")
    return result


def _disk_full(err: Exception) -> bool:
    # polars reports a full disk with no errno, only the text.
    return (isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)) or \
        "No space left on device" in str(err) or "Disk quota exceeded" in str(err)


def _disk_hint(opts: PublishOptions) -> str:
    return (f"  Hint: the disk holding {opts.site.resolve().parent} (site/ and its staging "
            f"copy) or {opts.aggregates.resolve().parent} (the aggregates and their cache) "
            "is full; free some space and publish again")


def publish(opts: PublishOptions) -> PublishResult:
    """Compute, build into staging, gate, and swap ``site/`` in one atomic step."""
    from site_builder.runner import compute_or_reuse, run_compute
    from site_builder.site.build import build_from_aggregates

    console = Console(stderr=True)
    cache = opts.aggregates.resolve().parent / "cache"
    site = opts.site.resolve()
    site.parent.mkdir(parents=True, exist_ok=True)
    with PublishLock(site, wait=opts.wait):
        for stale in clean_stale_staging(site):
            if opts.progress:
                console.print(f"removed a staging directory left by an interrupted run: {stale}")
        if opts.reuse:
            def compute() -> None:
                did = compute_or_reuse(extract=opts.extract, out=opts.aggregates,
                                       specs=opts.specs, years=opts.years,
                                       progress=opts.progress, live_site=site)
                if opts.progress and did != "computed":
                    console.print(f"  compute: {did}")

            _step("compute", opts, console, compute)
        else:
            _step("compute", opts, console, lambda: run_compute(
                extract=opts.extract, out=opts.aggregates, specs=opts.specs, years=opts.years,
                progress=opts.progress, reuse=False, live_site=site))
        staging = staging_dir(site)
        try:
            _step("build", opts, console, lambda: build_from_aggregates(
                opts.aggregates, staging, specs=opts.specs, progress=opts.progress))

            def gate(path: Path) -> str:
                report = require_pass(path, extract=opts.extract,
                                      policy=opts.specs / "policy.yaml",
                                      raw_cells=opts.aggregates / "cells.parquet",
                                      audit_cache=cache / "audit" if opts.reuse else None,
                                      scan_cache=cache / "scan" if opts.reuse else None,
                                      progress=opts.progress, live=site)
                return report.render()

            def say(message: str) -> None:
                if opts.progress:
                    console.print(f"  gate and swap: {message}")

            result = _step("gate and swap", opts, console, lambda: publish_staged(
                staging, site, extract=opts.extract, specs=opts.specs,
                parameters={"extract": str(opts.extract), "specs": str(opts.specs),
                            "years": list(opts.years) if opts.years else "all"},
                gate=gate, say=say))
        finally:
            # build_site's work directory (.<out>.src) is not removed when the build fails.
            for debris in (staging, staging.parent / f".{staging.name}.src"):
                if debris.exists():
                    shutil.rmtree(debris, ignore_errors=True)
        assert isinstance(result, PublishResult)
        # Said while the lock is held, so that a publish waiting for this one (--wait)
        # prints its first step only after this line.
        if opts.progress:
            console.print(result.gate_summary)
            console.print(f"[green]Published {result.files:,} files to {site}[/green]")
    return result
