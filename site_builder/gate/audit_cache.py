"""The gate's LP disclosure audit, one year at a time, with passing verdicts remembered.

``audit_cells`` audits years independently (they are separate populations; with workers it
splits them itself). Here each year's key is the SHA-256 of exactly what the audit of that
year reads: the year's published cells as read back from the staged CSV downloads, the
year's raw cells given as a hint, the policy, the code of ``site_builder`` outside the site
builder and the gate (which holds the whole audit), this module, and the installed
packages. The same inputs give the same verdict, so a year whose key has passed before is not
audited again. Only passes are remembered: a failing year is audited every time. The
years left go to a pool of processes only where ``audit.in_pool`` says it pays (not when
protect()'s witnesses cover them all).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import polars as pl

from site_builder import incremental
from site_builder.parallel import pool

HERE = Path(__file__)


def year_key(published: pl.DataFrame, hint: pl.DataFrame | None, policy: Any,
             witnesses: Any = None) -> str:
    # Witnesses hold lists per point, which CSV text (frame_digest) cannot.
    w = "none" if witnesses is None else witnesses.digest()
    parts = ["audit v2", incremental.frame_digest(published), incremental.frame_digest(hint),
             w, policy.model_dump_json(), incremental.code_digest(),
             incremental.file_sha256(HERE), incremental.environment_digest()]
    return incremental._sha("\n".join(parts).encode())


def _audit_year(published: pl.DataFrame, policy: Any, hint: pl.DataFrame | None,
                witnesses: Any = None) -> Any:
    from site_builder.disclosure.audit import _audit_year

    return _audit_year(published, policy, hint, witnesses=witnesses)


def audit_site_cached(site: Path, policy: Any, cache: Path, *, hint: pl.DataFrame | None,
                      workers: int = 2, witnesses: dict[int, Any] | None = None,
                      ) -> tuple[Any, list[int]]:
    """``audit_site(site, policy, workers, hint)`` with passing years taken from ``cache``.

    Returns the combined report and the years whose pass was reused.
    """
    from site_builder.disclosure.audit import (
        AuditReport,
        in_pool,
        published_csvs,
        read_published,
    )

    t0 = time.perf_counter()
    published = read_published(published_csvs(site))
    years = published["year"].unique().sort().to_list()
    parts = {y: (published.filter(pl.col("year") == y),
                 None if hint is None else hint.filter(pl.col("year") == y)) for y in years}
    witnesses = witnesses or {}
    keys = {y: year_key(*parts[y], policy, witnesses.get(y)) for y in years}
    reports: dict[int, Any] = {}
    for y in years:
        path = Path(cache) / f"{keys[y]}.json"
        doc = _recall(path)
        if doc is not None:
            reports[y] = AuditReport(**{k: doc[k] for k in (
                "n_cells", "n_values", "n_withheld", "n_components", "n_lp_solves")})
    reused = sorted(reports)
    todo = [y for y in years if y not in reports]
    if workers > 1 and in_pool(todo, witnesses):
        with pool(len(todo), workers) as procs:
            fresh = procs.starmap(_audit_year, [(parts[y][0], policy, parts[y][1],
                                                 witnesses.get(y)) for y in todo])
    else:
        fresh = [_audit_year(parts[y][0], policy, parts[y][1], witnesses.get(y))
                 for y in todo]
    for y, r in zip(todo, fresh, strict=True):
        reports[y] = r
        if r.ok:
            _remember(Path(cache) / f"{keys[y]}.json", r)
    out = AuditReport.combined((reports[y] for y in years), published.height)
    out.seconds = time.perf_counter() - t0
    return out, reused


def _recall(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("verdict") == "pass" else None


def _remember(path: Path, report: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    doc = {k: getattr(report, k) for k in ("n_cells", "n_values", "n_withheld",
                                            "n_components", "n_lp_solves")}
    text = json.dumps({**doc, "verdict": "pass"}, sort_keys=True) + "\n"
    incremental.atomic_write(path, lambda tmp: tmp.write_text(text, "utf-8"))
