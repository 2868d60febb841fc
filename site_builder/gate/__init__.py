"""The publication gate: nothing leaves without passing disclosure, PII and privacy checks.

:func:`run_gate` re-reads a staged site from disk (it never trusts the renderer) and checks:

1. **Disclosure**: the LP audit of ``site_builder.disclosure`` passes on the CSV downloads,
   and every number in a page table or chart is a published CSV cell (``rowlevel``).
2. **No PII**: no value of the extract's restricted columns, no canary, nothing PII-shaped
   (``pii``).
3. **No row-level data**: charts embed no more rows than their table, and only published
   columns (``rowlevel``).
4. **No external requests, cookies or tracking**, and a CSP that forbids other origins
   (``privacy``).

Restricted formats (Parquet, notebooks, pickles) anywhere in the site are refused outright.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from rich.progress import Progress

from site_builder.gate import pii, privacy, rowlevel
from site_builder.gate.findings import CHECKS, Finding, GateRefused, GateReport

if TYPE_CHECKING:
    import polars as pl

    from site_builder.disclosure.audit import Witnesses
    from site_builder.disclosure.policy import Policy

__all__ = ["CHECKS", "Finding", "GateRefused", "GateReport", "run_gate", "require_pass"]

TEXT_SUFFIXES = {".html", ".htm", ".js", ".mjs", ".json", ".csv", ".svg", ".xml", ".txt",
                 ".md", ".css", ".map", ".webmanifest", ".tsv", ".vl", ".yaml", ".yml"}
RESTRICTED_SUFFIXES = {".parquet", ".ipynb", ".feather", ".arrow", ".pkl", ".pickle", ".db",
                       ".sqlite", ".sqlite3", ".sav", ".dta", ".rds", ".xlsx", ".npy", ".npz"}
EXEMPT = {"manifest.json"}
"""Written after the gate by ``publish``; holds the build time and hashes only."""


def _is_code(rel: str) -> bool:
    """JavaScript and stylesheets: exact PII checks only (see ``pii.scan_text``)."""
    return rel.endswith((".js", ".mjs", ".map", ".css"))


@functools.cache
def _theme_digests() -> frozenset[str]:
    """SHA-256 of every file the installed mkdocs-material theme ships (its templates and
    assets, as they are copied into a site unchanged)."""
    import material

    root = Path(material.__file__).parent / "templates"
    return frozenset(hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in root.rglob("*") if p.is_file())


def _is_theme_file(rel: str, data: bytes) -> bool:
    """A theme asset byte for byte as mkdocs-material ships it (none of our text in it)."""
    return rel.startswith("assets/") and hashlib.sha256(data).hexdigest() in _theme_digests()


def run_gate(site: Path, *, extract: Path | None = None, audit: bool = True,
             policy: Path = Path("report_specs/policy.yaml"),
             raw_cells: Path | None = None, progress: bool = False,
             audit_cache: Path | None = None, scan_cache: Path | None = None,
             live: Path | None = None) -> GateReport:
    """Check every file of ``site``; return the report (see :func:`require_pass`).

    ``extract`` is the extract whose restricted values must appear nowhere; ``policy`` the
    disclosure policy the CSV downloads are audited against; ``raw_cells`` the unprotected
    aggregates (``cells.parquet``), if at hand: the audit uses them only as a starting point
    for its proofs (checked against what is published), which makes a large state much
    faster to audit. ``audit_cache``: a directory of passing audit verdicts, one per year,
    keyed by exactly the cells audited (see :mod:`site_builder.gate.audit_cache`);
    ``scan_cache``: a directory remembering which files passed the file checks, keyed by
    their bytes and everything else the checks read (see :mod:`site_builder.gate.scan_cache`).
    ``live``: the site published now, if any: the CSVs of both, together, are audited too
    (see :func:`site_builder.disclosure.releases.audit_releases`).
    """
    site = Path(site)
    report = GateReport(site=str(site))
    if not site.is_dir():
        report.findings.append(Finding("hygiene", str(site), "the site directory does not exist",
                                       hint="build it first with `reportcard build`"))
        return report

    needles = pii.load_needles(extract) if extract is not None else pii.PiiNeedles()
    report.notes.append("PII: " + (needles.describe() if extract is not None else
                                   "no extract given, so only pattern scans ran"))
    if needles.skipped_place_names:
        report.notes.append(f"PII: {needles.skipped_place_names:,} student full names also "
                            "occur inside public school or district names; those word pairs "
                            "are not counted as names")

    files = sorted(p for p in site.rglob("*") if p.is_file())
    report.files_scanned = len(files)
    todo = files
    clean = None
    keys: dict[Path, str] = {}
    if scan_cache is not None:
        from site_builder.gate import scan_cache as sc

        clean = sc.CleanFiles(scan_cache)
        keys = sc.file_keys(site, files, sc.context(needles.digest()))
        todo = [p for p in files if keys[p] not in clean]
        for p in files:
            if keys[p] in clean:
                clean.keep(keys[p])
        report.notes.append(f"Files: {len(files) - len(todo):,} of {len(files):,} unchanged "
                            "since they passed every file check (scan cache); the rest checked")
    # The pages' numbers are checked against the downloads: read them only if a page is due.
    published = rowlevel.Published.read(site) if any(
        p.suffix.lower() in (".html", ".htm") for p in todo) else rowlevel.Published({}, {})

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("Gate: scanning the staged site", total=len(todo))
        for path in todo:
            bar.advance(task)
            rel = path.relative_to(site).as_posix()
            if rel in EXEMPT:
                continue
            found = _check_file(rel, path, needles, published)
            report.findings += found
            if clean is not None and not found:
                clean.keep(keys[path])
    if clean is not None:
        clean.save()

    if audit:
        import polars as pl

        from site_builder.disclosure import load_policy
        from site_builder.disclosure.audit import read_witnesses

        hint = (pl.read_parquet(raw_cells) if raw_cells is not None and raw_cells.is_file()
                else None)
        # protect()'s proofs, kept beside the raw cells: each is checked before it counts.
        witnesses = read_witnesses(raw_cells.parent) if hint is not None and raw_cells else {}
        rules = load_policy(policy)
        report.findings += _disclosure_audit(site, rules, report, hint, witnesses,
                                             cache=audit_cache)
        if live is not None:
            report.findings += _releases_audit(live, site, rules, report, hint, witnesses,
                                                extract)
    return report


def _check_file(rel: str, path: Path, needles: pii.PiiNeedles,
                published: rowlevel.Published) -> list[Finding]:
    suffix = path.suffix.lower()
    if suffix in RESTRICTED_SUFFIXES:
        return [Finding("hygiene", rel, f"a restricted file type ({suffix}) is in the site",
                        hint="extracts, aggregates and executed notebooks stay under data/ and "
                             "build/; only pages, assets and CSV downloads are published")]
    if suffix == ".gz":
        text = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        inner = Path(rel[:-3])
        return pii.scan_text(rel, text, needles, patterns=not _is_code(str(inner)))
    if suffix not in TEXT_SUFFIXES:
        return []
    data = path.read_bytes()
    text = data.decode("utf-8", errors="replace")
    found = pii.scan_text(rel, text, needles, patterns=not _is_code(rel),
                          names=not _is_theme_file(rel, data))
    if suffix in (".html", ".htm"):
        found += privacy.check_html(rel, text)
        found += rowlevel.check_page(rel, text, published)
    elif suffix in (".js", ".mjs"):
        found += privacy.check_script_text(rel, text)
    elif suffix == ".css":
        found += privacy.check_css(rel, text)
    elif suffix == ".json":
        found += rowlevel.check_json_file(rel, text)
    return found


def _releases_audit(live: Path, site: Path, policy: Policy, report: GateReport,
                    hint: pl.DataFrame | None, witnesses: dict[int, Witnesses],
                    extract: Path | None) -> list[Finding]:
    """The LP audit of what the live site's CSVs and the staged site's tell together, for
    the years whose patterns differ: a visitor may have saved the live ones. Left out only
    where the live site's manifest and ``extract`` say they are of other students."""
    from site_builder.disclosure.audit import published_csvs
    from site_builder.disclosure.releases import audit_releases
    from site_builder.incremental import live_of_other_data

    live_csvs = published_csvs(live) if live.is_dir() else []
    if not live_csvs:
        report.notes.append("Releases: nothing is published yet, so there is no earlier "
                            "release to audit this one with")
        return []
    if _same_bytes(live, site, live_csvs, published_csvs(site)):
        report.notes.append("Releases: the live site's CSVs and this one's are the same, byte "
                            "for byte: together they tell what the live site alone does")
        return []
    other = live_of_other_data(live, extract) if extract is not None else None
    if other:
        report.notes.append(f"Releases: not audited together: {other}")
        return []
    result, diffs = audit_releases(live, site, policy, hint=hint, workers=2,
                                   witnesses=witnesses)
    report.notes.append("Releases, the live site's CSVs and this one's together: "
                        + "; ".join(d.render() for d in diffs)
                        + ("; " + result.render().splitlines()[0] if result.n_cells else ""))
    return [Finding("disclosure", "downloads/", "together with the live site's CSVs: "
                    + f.render(),
                    hint="a visitor who saved the live site's CSVs could work this out from "
                         "them and this release's; nothing was published. README.md, "
                         "'Differencing between releases', says what to do")
            for f in result.failures] + [
        Finding("disclosure", "downloads/",
                f"{d.year}: the live site publishes {', '.join(d.moved[0])}, not in this "
                f"release, and this release has {', '.join(d.moved[1])}, not on the live "
                "site: if they are the same students under new codes, the two releases "
                "cannot be audited together",
                hint=f"publish {d.year} under the codes the live site uses (the new codes "
                     "from the next school year on); README.md, 'Differencing between "
                     "releases'")
            for d in diffs if d.recoded] + [
        Finding("disclosure", "downloads/",
                f"{d.year}: {len(d.told):,} numbers the live site publishes (or sums of "
                "them) are published changed by fewer students than a group may have, so "
                "the change itself tells a small group, e.g. " + "; ".join(d.told[:3]),
                hint="a corrected year keeps such numbers withheld (`reportcard publish` "
                     "does, keeping the live site's pattern); README.md, 'Differencing "
                     "between releases'")
            for d in diffs if d.told]


def _same_bytes(a: Path, b: Path, files_a: list[Path], files_b: list[Path]) -> bool:
    """Whether two sites' files (under ``a`` and ``b``) have the same names and bytes."""
    if [p.relative_to(a) for p in files_a] != [p.relative_to(b) for p in files_b]:
        return False
    return all(x.stat().st_size == y.stat().st_size and x.read_bytes() == y.read_bytes()
               for x, y in zip(files_a, files_b, strict=True))


def _disclosure_audit(site: Path, policy: Policy, report: GateReport,
                      hint: pl.DataFrame | None, witnesses: dict[int, Witnesses], *,
                      cache: Path | None = None) -> list[Finding]:
    """The LP audit of what the CSV downloads publish."""
    from site_builder.disclosure import audit_site

    if cache is None:
        result = audit_site(site, policy, workers=2, hint=hint,
                            witnesses=witnesses)
        reused: list[int] = []
    else:
        from site_builder.gate.audit_cache import audit_site_cached

        result, reused = audit_site_cached(site, policy, cache, hint=hint,
                                           witnesses=witnesses)
    report.notes.append("Disclosure audit: " + result.render().splitlines()[0] + (
        f" Years {', '.join(map(str, reused))}: the same cells passed before (audit cache)."
        if reused else ""))
    return [Finding("disclosure", "downloads/", f.render(),
                    hint="protect() and the audit disagree: report this as a bug in "
                         "site_builder.disclosure; nothing was published")
            for f in result.failures]


def require_pass(site: Path, **kwargs: object) -> GateReport:
    """Run the gate and raise :class:`GateRefused` unless the site is clean."""
    report = run_gate(site, **kwargs)  # type: ignore[arg-type]
    if not report.ok:
        raise GateRefused(report)
    return report
