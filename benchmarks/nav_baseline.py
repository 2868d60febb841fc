"""Baseline B: the same pages with every page in the mkdocs navigation.

    .venv/bin/python benchmarks/nav_baseline.py --aggregates DIR --extract DIR --work DIR
                                                [--pages 300]

Our build (``site_builder.site.build.build_site``) writes a generated docs directory and a
generated ``mkdocs.yml`` (the repository's, where ``not_in_nav`` keeps the ~3,000 district and
school pages out of the global navigation), then runs ``mkdocs build``. The baseline is the
obvious alternative: list every page in ``nav:``. Global navigation puts the whole list on
every page, so it grows quadratically; the full state takes too long to build that way on a
shared 2-core machine, so this measures a SUBSET of about ``--pages`` pages (districts spread
evenly over the codes, with all their schools): our build of that subset (kept sources), then
``mkdocs build`` again on the very same docs directory with every page in ``nav:``. Only the
mkdocs step differs between the two; both are timed in this one process run.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import polars as pl
import yaml

ROOT = Path(__file__).resolve().parents[1]


def html_stats(site: Path) -> tuple[float, float]:
    sizes = [p.stat().st_size for p in site.rglob("*.html")]
    return sum(sizes) / 1e6, max(sizes) / 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--aggregates", type=Path, required=True)
    ap.add_argument("--extract", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--pages", type=int, default=300)
    args = ap.parse_args()

    from site_builder.disclosure.policy import load_policy
    from site_builder.notebook_tools import read_directory
    from site_builder.site import mkdocs_site
    from site_builder.site.build import build_site
    from site_builder.specs import load_specs

    agg = args.aggregates.resolve()
    src = agg if (agg / "directory").is_dir() else args.extract.resolve()
    districts, schools = read_directory(src)
    per = schools.group_by("district_code").len().sort("district_code")
    codes = sorted(districts["district_code"].to_list())
    mean_pages = 1 + per["len"].sum() / max(len(codes), 1)
    k = max(1, min(len(codes), round(args.pages / mean_pages)))
    keep = [codes[int(i * len(codes) / k)] for i in range(k)]
    d_sub = districts.filter(pl.col("district_code").is_in(keep))
    s_sub = schools.filter(pl.col("district_code").is_in(keep))
    published = pl.read_parquet(agg / "published.parquet")
    published = published.filter(pl.col("district_code").is_in(keep)
                                 | (pl.col("level") == "state"))

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    shipped = work / "shipped"
    t = time.perf_counter()
    res = build_site(published, d_sub, s_sub, load_specs(ROOT / "report_specs"),
                     load_policy(ROOT / "report_specs" / "policy.yaml"), shipped,
                     keep_sources=True)
    ours_build = time.perf_counter() - t
    ours_mkdocs = res.timings["mkdocs"]
    ours_html, ours_max = html_stats(shipped)

    srcdir = work / ".shipped.src"
    cfg = yaml.safe_load((srcdir / "mkdocs.yml").read_text("utf-8"))
    docs = Path(cfg["docs_dir"])
    cfg.pop("not_in_nav", None)
    nav = list(cfg.get("nav") or [])
    listed = {v for e in nav for v in (e.values() if isinstance(e, dict) else [e])}
    for folder, label in (("districts", "Districts"), ("schools", "Schools")):
        pages = sorted(str(p.relative_to(docs)) for p in (docs / folder).glob("*.md"))
        nav.append({label: pages})
    rest = sorted(str(p.relative_to(docs)) for p in docs.glob("*.md")
                  if str(p.relative_to(docs)) not in listed)
    nav.extend(rest)
    cfg["nav"] = nav
    cfg["site_dir"] = str(work / "allnav")
    nav_cfg = srcdir / "mkdocs-allnav.yml"
    nav_cfg.write_text(yaml.safe_dump(cfg, sort_keys=True, allow_unicode=True), "utf-8")
    t = time.perf_counter()
    mkdocs_site.run_mkdocs(nav_cfg)
    nav_mkdocs = time.perf_counter() - t
    nav_html, nav_max = html_stats(work / "allnav")
    t = time.perf_counter()  # ours again, warm (the first mkdocs run also paid its imports)
    mkdocs_site.run_mkdocs(srcdir / "mkdocs.yml")
    ours_warm = time.perf_counter() - t
    print(json.dumps({
        "districts": len(keep), "schools": s_sub.height, "pages": res.pages,
        "ours_build_s": round(ours_build, 1), "ours_mkdocs_s": round(ours_mkdocs, 1),
        "ours_mkdocs_warm_s": round(ours_warm, 1), "allnav_mkdocs_s": round(nav_mkdocs, 1),
        "allnav_build_s": round(ours_build - ours_mkdocs + nav_mkdocs, 1),
        "mkdocs_ratio": round(nav_mkdocs / max(ours_warm, 1e-9), 1),
        "ours_html_mb": round(ours_html, 1), "allnav_html_mb": round(nav_html, 1),
        "ours_largest_kb": round(ours_max), "allnav_largest_kb": round(nav_max),
    }), flush=True)


if __name__ == "__main__":
    main()
