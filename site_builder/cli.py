"""``reportcard``: the thin command line over ``site_builder``.

Each command parses its arguments and calls one function that a notebook can call too.
Expected failures (:class:`~site_builder.errors.ReportcardError`) are printed without a
traceback and exit with status 1.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from site_builder.errors import ReportcardError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_EXTRACT = Path("data/extract")
DEFAULT_AGGREGATES = Path("build/aggregates")
DEFAULT_SPECS = Path("report_specs")


def friendly_errors(fn: F) -> F:
    """Turn expected failures into a clear message and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ReportcardError as err:
            click.secho(str(err), fg="red", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def parse_years(text: str) -> tuple[int, ...]:
    """``2021-2025`` or ``2022,2024`` or ``2024`` -> a sorted tuple of years."""
    years: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                years.update(range(lo, hi + 1))
            elif part:
                years.add(int(part))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a year range; write it like 2021-2025 or 2023,2024") from None
    if not years:
        raise click.BadParameter("no years given; write them like 2021-2025")
    return tuple(sorted(years))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="site-builder")
def main() -> None:
    """Missouri school report cards: synthetic extract -> protected aggregates -> static site."""


@main.command()
@click.option("--out", "out", type=click.Path(path_type=Path), default=DEFAULT_EXTRACT,
              show_default=True, help="Directory to write the extract into.")
@click.option("--seed", type=int, default=20240601, show_default=True,
              help="Random seed; the same seed gives byte-identical files.")
@click.option("--years", default="2021-2025", show_default=True,
              help="School years by ending year, e.g. 2021-2025.")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="Multiply every district's enrollment by this (0.02 for a quick run).")
@click.option("--profile", type=click.Choice(["state", "central", "tiny"]), default="state",
              show_default=True, help="state: every real Missouri LEA. central: the 46 LEAs "
              "of ten central Missouri counties. tiny: 5 test districts.")
@click.option("--canaries", type=int, default=0, show_default=True,
              help="Plant this many recognisable canary students (listed in canaries.json).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet",
              show_default=True, help="File format of the student files.")
@friendly_errors
def synth(out: Path, seed: int, years: str, scale: float, profile: str, canaries: int,
          fmt: str) -> None:
    """Generate a synthetic, MOSIS-like student extract (no real student is in it)."""
    from site_builder.synth import generate

    generate(out, seed=seed, years=parse_years(years), scale=scale, profile=profile,
             canaries=canaries, fmt=fmt, progress=True)


@main.command()
@click.argument("extract", type=click.Path(path_type=Path), default=DEFAULT_EXTRACT)
@friendly_errors
def validate(extract: Path) -> None:
    """Check an extract against the input contract; list every problem at once."""
    from site_builder.contract import validate_extract

    report = validate_extract(extract, progress=True)
    click.echo(report.summary())


@main.command()
@click.option("--extract", type=click.Path(path_type=Path), default=DEFAULT_EXTRACT,
              show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_AGGREGATES,
              show_default=True)
@click.option("--specs", type=click.Path(path_type=Path), default=DEFAULT_SPECS,
              show_default=True)
@click.option("--years", default=None, help="Only these years (default: all in the extract).")
@click.option("--no-protect", is_flag=True,
              help="Write only the raw (restricted) cells; skip disclosure control, so nothing "
                   "can be built or published from this run.")
@click.option("--no-reuse", is_flag=True,
              help="Protect every year again (by default a year whose raw cells, policy and "
              "code are unchanged is read from <out>/../cache).")
@click.option("--live-site", type=click.Path(path_type=Path), default=Path("site"),
              show_default=True,
              help="The published site: a year it publishes keeps what it withholds, so that "
                   "its CSVs and this release's together tell no more than it did (nothing "
                   "published there yet: no effect).")
@friendly_errors
def compute(extract: Path, out: Path, specs: Path, years: str | None, no_protect: bool,
            no_reuse: bool, live_site: Path) -> None:
    """Compute the protected aggregates by running notebooks/compute_aggregates.ipynb."""
    from site_builder.runner import run_compute

    run_compute(extract=extract, out=out, specs=specs,
                years=parse_years(years) if years else None, progress=True,
                protect=not no_protect, reuse=not no_reuse, live_site=live_site)


@main.command()
@click.argument("site_dir", type=click.Path(path_type=Path))
@click.option("--extract", type=click.Path(path_type=Path), default=DEFAULT_EXTRACT,
              show_default=True,
              help="The extract whose restricted values must appear nowhere in the site.")
@click.option("--no-extract", is_flag=True, help="Pattern scans only (no extract at hand).")
@click.option("--specs", type=click.Path(path_type=Path), default=DEFAULT_SPECS,
              show_default=True, help="Where policy.yaml (the disclosure policy) lives.")
@click.option("--aggregates", type=click.Path(path_type=Path), default=DEFAULT_AGGREGATES,
              show_default=True, help="Where compute wrote cells.parquet; if it is there, the "
              "disclosure audit starts its proofs from it (much faster for a large state).")
@friendly_errors
def audit(site_dir: Path, extract: Path, no_extract: bool, specs: Path,
          aggregates: Path) -> None:
    """Run the publication gate on SITE_DIR: disclosure, PII, row-level data, privacy."""
    from site_builder.gate import require_pass

    report = require_pass(site_dir, extract=None if no_extract else extract,
                          policy=specs / "policy.yaml", raw_cells=aggregates / "cells.parquet",
                          progress=True)
    click.echo(report.render())


@main.command("audit-releases")
@click.argument("earlier", type=click.Path(path_type=Path))
@click.argument("later", type=click.Path(path_type=Path))
@click.option("--specs", type=click.Path(path_type=Path), default=DEFAULT_SPECS,
              show_default=True, help="Where policy.yaml (the disclosure policy) lives.")
@click.option("--aggregates", type=click.Path(path_type=Path), default=DEFAULT_AGGREGATES,
              show_default=True, help="Where compute wrote the LATER release's cells.parquet: "
              "its true values, from which the audit starts its proofs, and against which "
              "an EARLIER number is checked still to be true.")
@friendly_errors
def audit_releases(earlier: Path, later: Path, specs: Path, aggregates: Path) -> None:
    """Audit two published sites together: what a visitor who kept EARLIER learns from LATER.

    Each release passes its own audit; a year protected again with a different pattern
    (after a change to the code, the specs or the policy) can still, together with the
    release it replaces, give away a withheld number. Run it before publishing LATER over
    EARLIER: it exits with status 1 if the two together disclose."""
    import polars as pl

    from site_builder.disclosure.policy import load_policy
    from site_builder.disclosure.releases import ReleasesError
    from site_builder.disclosure.releases import audit_releases as audit_together

    raw = aggregates / "cells.parquet"
    hint = pl.read_parquet(raw) if raw.exists() else None
    report, diffs = audit_together(earlier, later, load_policy(specs / "policy.yaml"),
                                   hint=hint, workers=2)
    for d in diffs:
        click.echo(d.render())
    if any(not d.same_pattern for d in diffs):
        click.echo(report.render())
    recoded = [d for d in diffs if d.recoded]
    if recoded:
        raise ReleasesError(
            f"{later} and {earlier} cannot be audited together: "
            + "; ".join(f"{d.year} has places only {earlier} publishes and places only "
                        f"{later} publishes (above)" for d in recoded)
            + ". If they are the same students under new codes, what each release "
            "withholds of them is not related. Hint: publish those years under the codes "
            f"{earlier} uses (the new codes from the next school year on).")
    told = [d for d in diffs if d.told]
    if told:
        raise ReleasesError(
            f"{later} publishes numbers {earlier} publishes, changed by fewer students than "
            "a group may have: the change itself tells a small group, e.g. "
            + "; ".join(d.told[0] for d in told)
            + ". Hint: compute again keeping EARLIER's pattern (`reportcard compute "
            "--live-site EARLIER`, or `reportcard publish`, which does): it withholds them; "
            "README.md, 'Differencing between releases'.")
    if not report.ok:
        raise ReleasesError(
            f"{later} together with {earlier} discloses what each alone protects (above). "
            "Hint: the years listed were protected again with a different pattern. If "
            "EARLIER is the live site, compute again keeping its pattern (`reportcard "
            "compute --live-site EARLIER`, or `reportcard publish`, which does); README.md, "
            "'Differencing between releases', says more.")
    click.echo("PASSED: together, the two releases disclose nothing either does not.")


@main.command()
@click.option("--extract", type=click.Path(path_type=Path), default=DEFAULT_EXTRACT,
              show_default=True)
@click.option("--site", type=click.Path(path_type=Path), default=Path("site"),
              show_default=True)
@click.option("--specs", type=click.Path(path_type=Path), default=DEFAULT_SPECS,
              show_default=True)
@click.option("--aggregates", type=click.Path(path_type=Path), default=DEFAULT_AGGREGATES,
              show_default=True)
@click.option("--years", default=None, help="Only these years (default: all in the extract).")
@click.option("--wait", type=float, default=0.0, show_default=True,
              help="Seconds to wait for another running publish before refusing.")
@click.option("--no-reuse", is_flag=True,
              help="Compute, protect and audit everything again, even what unchanged inputs "
              "already produced (by default that is reused: see site_builder/incremental.py).")
@friendly_errors
def publish(extract: Path, site: Path, specs: Path, aggregates: Path, years: str | None,
            wait: float, no_reuse: bool) -> None:
    """Compute, build into staging, gate, and replace SITE atomically.

    What SITE withholds now stays withheld, and the gate audits SITE's CSVs and the new
    ones together (README.md, "Differencing between releases")."""
    from site_builder.pipeline import PublishOptions
    from site_builder.pipeline import publish as run_publish

    run_publish(PublishOptions(extract=extract, site=site, specs=specs, aggregates=aggregates,
                               years=parse_years(years) if years else None, wait=wait,
                               reuse=not no_reuse))


@main.command()
@click.argument("site_dir", type=click.Path(path_type=Path), default=Path("site"))
@friendly_errors
def verify(site_dir: Path) -> None:
    """Re-hash every file of a published site against its manifest.json."""
    from site_builder.gate.manifest import verify as verify_site

    result = verify_site(site_dir)
    click.echo(result.render())
    if not result.ok:
        sys.exit(1)


@main.command()
@click.option("--aggregates", type=click.Path(path_type=Path), default=DEFAULT_AGGREGATES,
              show_default=True, help="Directory holding published.parquet (protected cells).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build/staging"),
              show_default=True, help="Directory to build the site into (replaced).")
@click.option("--specs", type=click.Path(path_type=Path), default=DEFAULT_SPECS,
              show_default=True)
@click.option("--extract", type=click.Path(path_type=Path), default=DEFAULT_EXTRACT,
              show_default=True,
              help="Only its public directory/ (district and school names) is read.")
@friendly_errors
def build(aggregates: Path, out: Path, specs: Path, extract: Path) -> None:
    """Build the static site from the protected aggregates (never from the extract)."""
    from site_builder.site.build import build_from_aggregates

    result = build_from_aggregates(aggregates, out, specs=specs, extract=extract, progress=True)
    click.echo(result.summary())


@main.command()
@click.option("--site", "site_dir", type=click.Path(path_type=Path), default=Path("site"),
              show_default=True, help="Directory to serve.")
@click.option("--port", type=int, default=8000, show_default=True)
@friendly_errors
def serve(site_dir: Path, port: int) -> None:
    """Serve a built site on http://127.0.0.1:PORT/ (static files; sets no cookies)."""
    from site_builder.site.serve import serve_site

    serve_site(site_dir, port)


if __name__ == "__main__":  # pragma: no cover
    main()
