"""Time the audit's proofs of large linked groups, pass by pass, on one year.

    .venv/bin/python benchmarks/prove_large.py PUBLISHED.parquet RAW.parquet YEAR [--group K]
        [--thorough]

PUBLISHED: protected cells (``protect(raw, policy)``, or ``audit=False`` for a pattern the
audit has not seen); RAW: the raw cells (the hint). The audit's LP is built exactly as
``audit_cells`` builds it, then ``_prove_large`` runs on the K-th largest linked group
(0 = the largest) and logs each pass: how many values it proved and how long it took.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from site_builder.disclosure import audit
from site_builder.disclosure.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("published", type=Path)
    ap.add_argument("raw", type=Path)
    ap.add_argument("year", type=int)
    ap.add_argument("--group", type=int, default=0)
    ap.add_argument("--thorough", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    policy = load_policy(ROOT / "report_specs" / "policy.yaml")
    pub = pl.read_parquet(args.published).filter(pl.col("year") == args.year)
    raw = pl.read_parquet(args.raw).filter(pl.col("year") == args.year)

    captured: dict[str, object] = {}

    def capture(A, lo, hi, rlo, rhi, req, start=None, region=None, thorough=True):  # noqa: ANN001, ANN202
        captured.update(A=A, lo=lo, hi=hi, rlo=rlo, rhi=rhi, req=req, start=start,
                        region=region)
        n = A.shape[1]
        return np.zeros(n), np.full(n, audit.BIG), 0, 0, np.zeros(n, bool)

    real = audit._ranges
    audit._ranges = capture  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        audit.audit_cells(pub, policy, hint=raw)
        print(f"system built in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        audit._ranges = real  # type: ignore[assignment]
    if captured["start"] is None:
        raise SystemExit("the raw cells do not fit what is published: no hint")
    A = captured["A"].tocsr()  # type: ignore[attr-defined]
    n, n_rows = A.shape[1], A.shape[0]
    B = A.tocoo()
    graph = coo_matrix((np.ones(2 * B.nnz), (np.r_[B.row + n, B.col], np.r_[B.col, B.row + n])),
                       shape=(n + n_rows, n + n_rows))
    labels = connected_components(graph, directed=False)[1]
    sizes = np.bincount(labels[:n])
    lab = np.argsort(sizes, kind="stable")[::-1][args.group]
    cols = np.flatnonzero(labels[:n] == lab)
    rows = np.flatnonzero(labels[n:] == lab)
    region = np.unique(captured["region"], return_inverse=True)[1][cols]  # type: ignore[call-overload]
    print(f"group {args.group}: {len(cols):,} withheld values, {len(rows):,} relations, "
          f"{region.max() + 1} regions", flush=True)
    t0 = time.perf_counter()
    _, _, solves, unproven = audit._prove_large(
        A[rows][:, cols].tocsc(), captured["lo"][cols], captured["hi"][cols],  # type: ignore[index]
        captured["rlo"][rows], captured["rhi"][rows], captured["req"][cols],  # type: ignore[index]
        captured["start"][cols], region, np.random.default_rng(12345),  # type: ignore[index]
        thorough=args.thorough)
    print(f"done in {time.perf_counter() - t0:.1f} s: {solves} LP solves, "
          f"{int(unproven.sum())} unproven")


if __name__ == "__main__":
    main()
