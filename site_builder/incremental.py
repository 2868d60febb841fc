"""Incremental publishing: reuse work whose inputs have not changed, keyed by content.

Four caches, each keyed by a SHA-256 of everything the work depends on (never by a time or
a path), so that a reused result is the very result the work would have produced:

* **compute**: ``<aggregates>/inputs.json`` records the fingerprint of the inputs of the
  compute notebook (the extract's files, the report specs and policy, the notebook, the
  source of every ``site_builder`` module the notebook can run, the installed packages and
  the parameters) and the SHA-256 of every file compute wrote. ``publish`` skips compute
  only when the fingerprint matches *and* the aggregates directory holds exactly those
  files with exactly those bytes. ``inputs.json`` is written last, atomically, after a
  successful run; a killed or failed run that wrote anything leaves files that no longer
  match it, so that directory is computed again. (A failed run that wrote nothing leaves the
  directory exactly as it was, ``inputs.json`` included: bad input changes nothing.)
* **protect, per year** (:func:`protect_by_year`): years are independent populations in
  ``protect`` (it splits them itself when given workers), so each year's protected cells are
  kept under ``<cache>/protect/<key>.parquet`` keyed by that year's raw cells, the policy,
  the code and the packages. A change to one district in one year re-protects that year only.
* **the gate's LP audit, per year** (:mod:`site_builder.gate.audit_cache`): a passing verdict
  keyed by the exact published cells of that year read back from the staged CSVs.
* **the gate's file checks, per file** (:mod:`site_builder.gate.scan_cache`): a file that
  passed, keyed by its bytes, the extract's restricted values, the code and the packages
  (and, for a page, the CSV downloads its numbers are checked against).

What is *not* covered here is code outside the compute set (``site_builder/site``,
``site_builder/gate``, the CLI and ``pipeline``): a template change never invalidates compute.
``tests/test_incremental.py`` checks that the compute code imports none of those.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl

from site_builder.store import fsync_dir

PACKAGE = Path(__file__).resolve().parent
FINGERPRINT = "inputs.json"
FORMAT = 1

NOT_COMPUTE = ("site/", "gate/", "cli.py", "pipeline.py")
"""Package paths (relative to ``site_builder/``) the compute notebook never imports."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def files_digest(root: Path, files: Iterable[Path]) -> str:
    """One SHA-256 over ``files`` (relative names and contents), in sorted order."""
    h = hashlib.sha256()
    for p in sorted(files):
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(file_sha256(p).encode() + b"\n")
    return h.hexdigest()


def tree_digest(root: Path) -> str:
    """SHA-256 over every file under ``root`` (a single file: its name-less content hash)."""
    root = Path(root)
    if root.is_file():
        return file_sha256(root)
    return files_digest(root, (p for p in root.rglob("*") if p.is_file()))


def compute_code_files() -> list[Path]:
    """Every file of the package the compute notebook may execute or read."""
    out = []
    for p in sorted(PACKAGE.rglob("*")):
        rel = p.relative_to(PACKAGE).as_posix()
        if not p.is_file() or "__pycache__" in rel or rel.startswith(NOT_COMPUTE):
            continue
        out.append(p)
    return out


_CODE: str | None = None
_ENV: str | None = None


def code_digest() -> str:
    """SHA-256 of the compute code (see :data:`NOT_COMPUTE` for what is left out)."""
    global _CODE
    if _CODE is None:
        _CODE = files_digest(PACKAGE, compute_code_files())
    return _CODE


def environment_digest() -> str:
    """SHA-256 of the Python version and every installed distribution's name and version."""
    global _ENV
    if _ENV is None:
        from importlib.metadata import distributions

        names = sorted({f"{d.metadata['Name']}=={d.version}" for d in distributions()})
        _ENV = _sha((sys.version + "\n" + "\n".join(names)).encode())
    return _ENV


# --- compute: the whole aggregates directory ---------------------------------------------


def compute_inputs(*, extract: Path, specs: Path, notebook: Path,
                   parameters: dict[str, Any]) -> dict[str, Any]:
    """What the compute notebook's result depends on, each as a digest."""
    return {
        "extract": tree_digest(extract),
        "specs": tree_digest(specs),
        "notebook": file_sha256(notebook),
        "code": code_digest(),
        "environment": environment_digest(),
        "parameters": parameters,
    }


def fingerprint(inputs: dict[str, Any]) -> str:
    return _sha(json.dumps({"format": FORMAT, **inputs}, sort_keys=True).encode())


def _outputs(aggregates: Path) -> dict[str, str]:
    return {p.relative_to(aggregates).as_posix(): file_sha256(p)
            for p in sorted(aggregates.rglob("*"))
            if p.is_file() and p.relative_to(aggregates).as_posix() != FINGERPRINT}


def record(aggregates: Path, inputs: dict[str, Any]) -> str:
    """Write ``inputs.json`` (last, atomically) for a finished compute; return the
    fingerprint."""
    aggregates = Path(aggregates)
    fp = fingerprint(inputs)
    doc = {"format": FORMAT, "fingerprint": fp, "inputs": inputs,
           "outputs": _outputs(aggregates)}
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    atomic_write(aggregates / FINGERPRINT, lambda tmp: tmp.write_text(text, "utf-8"))
    fsync_dir(aggregates)
    return fp


def reusable(aggregates: Path, inputs: dict[str, Any]) -> tuple[str | None, str]:
    """``(fingerprint, why)``: the fingerprint if ``aggregates`` holds exactly what compute
    wrote for these inputs, else ``None`` and the reason it cannot be reused."""
    path = Path(aggregates) / FINGERPRINT
    if not path.is_file():
        return None, f"no {FINGERPRINT} in {aggregates} (never computed, or interrupted)"
    try:
        doc = json.loads(path.read_text("utf-8"))
        recorded, outputs = doc["fingerprint"], doc["outputs"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        return None, f"{path} is unreadable ({err})"
    if doc.get("format") != FORMAT or recorded != fingerprint(inputs):
        old = doc.get("inputs", {})
        changed = sorted(k for k in inputs if old.get(k) != inputs[k]) or ["format"]
        return None, "changed since the last compute: " + ", ".join(changed)
    actual = _outputs(Path(aggregates))
    if actual != outputs:
        diff = sorted(set(actual.items()) ^ set(outputs.items()))
        return None, (f"{aggregates} does not hold exactly what compute wrote "
                      f"({len(diff)} file(s) differ, e.g. {diff[0][0]})")
    if "published.parquet" not in outputs:
        return None, f"{aggregates} holds no published.parquet"
    return recorded, "unchanged inputs"


# --- protect, one year at a time -----------------------------------------------------------


def frame_digest(df: pl.DataFrame | None) -> str:
    """SHA-256 of a frame's schema and CSV text (floats in shortest round-trip form, nulls
    distinct from empty strings): the same cells give the same digest."""
    if df is None:
        return "none"
    text = df.write_csv(null_value="\x00null\x00", quote_style="non_numeric")
    return _sha((repr(list(df.schema.items())) + "\n" + text).encode())


def protect_key(raw_year: pl.DataFrame, policy: Any, *, audit: bool = True) -> str:
    parts = ["protect v1", frame_digest(raw_year), policy.model_dump_json(),
             f"audit={audit}", code_digest(), environment_digest()]
    return _sha("\n".join(parts).encode())


def protect_by_year(raw: pl.DataFrame, policy: Any, cache: Path | str | None, *,
                    workers: int = 2, log: Any = print,
                    witnesses: dict[int, Any] | None = None,
                    live: pl.DataFrame | None = None) -> pl.DataFrame:
    """``protect(raw, policy, workers=workers, witnesses=witnesses)``, reusing each year
    already protected from exactly the same raw cells, policy, code and packages.

    ``protect`` protects years independently and returns ``concat(years).sort(KEY)``; this
    does the same, with the unchanged years (and their audit witnesses) read from ``cache``
    (``None``: no cache).

    ``live``: the cells the live site publishes (:func:`releases.read_release`). A year it
    has keeps what it withheld (:func:`keep_pattern`) wherever this run's pattern would show
    any of it, so that the two releases together tell no more than the live one did.
    """
    from site_builder.cells import KEY
    from site_builder.disclosure import protect
    from site_builder.disclosure.audit import read_witnesses
    from site_builder.store import write_witnesses

    if witnesses is None:
        witnesses = {}
    if cache is None:
        out = protect(raw, policy, workers=workers, witnesses=witnesses)
        return out if live is None else keep_live(out, raw, policy, live, witnesses, log)
    cache = Path(cache) / "protect"
    years = raw["year"].unique().sort().to_list()
    parts = {y: raw.filter(pl.col("year") == y) for y in years}
    keys = {y: protect_key(parts[y], policy) for y in years}
    done: dict[int, pl.DataFrame] = {}
    for y in years:
        path = cache / f"{keys[y]}.parquet"
        if path.is_file():
            done[y] = pl.read_parquet(path)
            witnesses.update(read_witnesses(cache / keys[y]))
    todo = [y for y in years if y not in done]
    if done:
        log(f"protect: reusing {len(done)} year(s) protected from identical raw cells "
            f"({', '.join(map(str, sorted(done)))}); protecting "
            f"{', '.join(map(str, todo)) or 'nothing'}")
    if todo:
        cache.mkdir(parents=True, exist_ok=True)
        os.chmod(cache, 0o700)
        t0 = time.perf_counter()

        def keep(y: int, cells: pl.DataFrame, new: dict[int, Any]) -> None:
            # Each year into the cache as soon as it is done: an interrupted run keeps the
            # years it finished. Witnesses first: a year's cells in the cache mean it is whole.
            done[y] = cells
            if y in new:
                write_witnesses({y: new[y]}, cache / keys[y])
            _write_parquet(cells, cache / f"{keys[y]}.parquet")
            witnesses.update(new)
            left = sum(1 for t in todo if t not in done)
            log(f"protect: {y} protected and audited ({len(todo) - left} of {len(todo)}, "
                f"{time.perf_counter() - t0:,.0f} s so far)")

        protect(pl.concat([parts[y] for y in todo]), policy, workers=workers, on_year=keep)
    out = pl.concat([done[y] for y in years]).sort(list(KEY))
    return out if live is None else keep_live(out, raw, policy, live, witnesses, log,
                                              cache=cache)


def live_of_other_data(site: Path | str, extract: Path | str) -> str | None:
    """Why the live site at ``site`` is not a release of the students of ``extract``, or
    ``None`` when it may be one: then each year it publishes is kept to, and audited
    together with this release, however many of its numbers changed.

    Known only where both name their students: the live site's manifest records the
    synthetic extract it was published from (:func:`store.synthetic_identity`), and
    ``extract`` is synthetic too, made by another generator version, profile, seed or scale
    (a demo of another state published over the last one). For any other extract (DESE's
    own) a live year is of the same students, corrected: a correction that changes more
    than half of a year's published numbers is a correction still (a tiny state's district
    with 29 of its pupils removed), whose changes tell who changed."""
    from site_builder.store import MANIFEST, synthetic_identity

    try:
        live = json.loads((Path(site) / MANIFEST).read_text("utf-8")).get("extract_identity")
    except (OSError, ValueError, AttributeError):
        return None
    mine = synthetic_identity(extract)
    if not (isinstance(live, dict) and mine) or live == mine:
        return None

    def said(ident: dict[str, Any]) -> str:
        return ", ".join(f"{k} {ident.get(k)}" for k in ("profile", "seed", "scale",
                                                         "generator_version"))
    return (f"the live site was published from a synthetic state ({said(live)}) and this "
            f"extract is another ({said(mine)}): they have no student in common")


def read_live(site: Path | str, extract: Path | str, log: Any = print) -> pl.DataFrame | None:
    """The cells the live site at ``site`` publishes (:func:`releases.read_release`), or
    ``None`` where nothing is published there or it is of other students
    (:func:`live_of_other_data`, said in ``log``)."""
    from site_builder.disclosure.releases import read_release

    why = live_of_other_data(site, extract)
    if why:
        log(f"protect: {site} is not a release of these students ({why}); what it "
            "withholds is not kept")
        return None
    return read_release(Path(site))


PATTERN = ("n_students", "n_meeting", "display", "reason")
"""What a release shows of each cell (with :data:`cells.KEY`)."""


def pattern_digest(cells: pl.DataFrame) -> str:
    """SHA-256 of what one year's published cells show (:data:`PATTERN`), in KEY order, as
    text: the same for the cells protect() renders and for their CSVs read back
    (:func:`releases.read_release`)."""
    from site_builder.cells import KEY

    return frame_digest(cells.sort(list(KEY)).select(
        pl.col(c).cast(pl.String) for c in (*KEY, *PATTERN)))


def keep_key(raw_key: str, before: pl.DataFrame) -> str:
    """The cache key of :func:`keep_pattern` of one year: its :func:`protect_key` (the raw
    cells, policy, code and packages) and what the live year shows."""
    return _sha(f"keep v2\n{raw_key}\n{pattern_digest(before)}".encode())


def _listed(codes: list[str], most: int = 6) -> str:
    """"061150, 061150/1050 and 061150/4020"; past ``most``, "and N more"."""
    shown = codes[:most] + ([f"{len(codes) - most} more"] if len(codes) > most else [])
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def keep_live(published: pl.DataFrame, raw: pl.DataFrame, policy: Any, live: pl.DataFrame,
              witnesses: dict[int, Any], log: Any = print, *,
              cache: Path | None = None) -> pl.DataFrame:
    """``published`` with each year that would show what ``live`` withheld (or coded)
    protected again from ``live``'s pattern (:func:`keep_pattern`), its witnesses in
    ``witnesses`` replaced.

    The audit rounds of such a year start from this run's witnesses of the year (its
    fresh pattern's proofs, checked point by point before they count): without them, a
    value the live release's audit had proved could be left unproven, and with every
    complement near it a number the live site publishes, the year could not be kept.

    ``cache``: where a kept year is read back from (and written to), by its raw cells,
    policy, code, packages and what the live year shows. A kept year is written twice: as
    the result for the live pattern it was kept from, and for itself, because published,
    it is the next run's live pattern, and :func:`keep_pattern` given its own result
    returns it."""
    from site_builder.cells import KEY
    from site_builder.disclosure.audit import read_witnesses
    from site_builder.disclosure.protect import ProtectionBug, ProtectionError, keep_pattern
    from site_builder.disclosure.releases import (
        derived_changes,
        moved_places,
        shows_more,
        stale_share,
        told_by_change,
    )
    from site_builder.store import write_witnesses

    years = published["year"].unique().sort().to_list()
    out = {}
    for y in years:
        mine = published.filter(pl.col("year") == y)
        before = live.filter(pl.col("year") == y)
        truth = raw.filter(pl.col("year") == y)
        out[y] = mine
        if before.is_empty():
            continue
        stale = stale_share(before, truth)
        gone, new_places = moved_places(before, truth)
        if gone and new_places:
            raise ProtectionError(
                f"{y} could not be kept to what the live site withholds: the live site "
                f"publishes {_listed(gone)}, with no students in {y} now, and this release "
                f"has {_listed(new_places)}, which the live site does not publish in {y}. If "
                "they are the same students under new codes (a merger, or schools recoded, "
                "in a year already published), the new codes' numbers are protected afresh, "
                "and together with the live site's they can give away what each withholds. "
                f"Hint: publish {y} under the codes the live site uses (the new codes from "
                "the next school year on), or take it to the disclosure officer (README.md, "
                "'Differencing between releases'); nothing was published.")
        shown = shows_more(before, mine)
        told = told_by_change(before, mine, policy.min_cell_size).height
        if stale and not told:  # the data changed: what do the changes add up to?
            told = len(derived_changes(before, mine, policy))
        if not (shown or told):
            continue
        raw_key = protect_key(truth, policy) if cache is not None else ""
        key = keep_key(raw_key, before) if cache is not None else ""
        if cache is not None and (cache / f"{key}.parquet").is_file():
            out[y] = pl.read_parquet(cache / f"{key}.parquet")
            witnesses.pop(y, None)
            witnesses.update(read_witnesses(cache / key))
            log(f"protect: {y}: reusing the year kept before from the same raw cells and the "
                "same live pattern")
            continue
        why = [f"{shown:,} rows the live site withholds (or shows as a range) would be "
               "shown"] if shown else []
        why += [f"{told:,} numbers the live site publishes (or sums of them) would be "
                f"published changed by fewer than {policy.min_cell_size} students (the change "
                "tells a small group)"] if told else []
        log(f"protect: {y}: {'; '.join(why)}; protecting {y} again, keeping what the live "
            "site withholds")
        t0 = time.perf_counter()
        try:
            out[y], new = keep_pattern(truth, policy, before, prior=witnesses.get(y))
        except ProtectionBug:
            raise  # not the disclosure officer's to decide
        except ProtectionError as err:
            raise ProtectionError(
                f"{y} could not be protected keeping what the live site withholds (most "
                "likely, what more it needed withheld the live site publishes, and a visitor "
                "may have saved it). Hint: this needs the disclosure officer's decision "
                "(README.md, 'Differencing between releases'); nothing was published. (A demo "
                "site, of made-up students, can be published afresh instead: remove it "
                "first.)\n"
                f"{err}") from err
        still = (told_by_change(before, out[y], policy.min_cell_size)["_told"].to_list()
                 + derived_changes(before, out[y], policy))
        if still:
            raise ProtectionError(
                f"{y} could not be published corrected: {len(still):,} numbers the live site "
                f"publishes (or sums of them) changed by fewer than {policy.min_cell_size} "
                "students, and what would hide the change could not be withheld (for "
                "example, a count that is zero now: a zero is never withheld), so the change "
                "itself would tell a small group, e.g. " + "; ".join(still[:3]) + ". "
                "Hint: this needs the disclosure officer's decision (README.md, "
                "'Differencing between releases'); nothing was published. (A demo site, of "
                "made-up students, can be published afresh instead: remove it first.)")
        witnesses.pop(y, None)
        witnesses.update(new)
        if cache is not None:
            # As protect_by_year's cache: the witnesses first, then the cells.
            cache.mkdir(parents=True, exist_ok=True)
            for k in dict.fromkeys([key, keep_key(raw_key, out[y])]):
                if y in new:
                    write_witnesses({y: new[y]}, cache / k)
                _write_parquet(out[y], cache / f"{k}.parquet")
        log(f"protect: {y} protected and audited from the live site's pattern "
            f"({time.perf_counter() - t0:,.0f} s)")
    return pl.concat([out[y] for y in years]).sort(list(KEY))


def _write_parquet(df: pl.DataFrame, path: Path) -> None:
    atomic_write(path, lambda tmp: df.write_parquet(tmp, compression="zstd",
                                                     statistics=False))


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a file beside ``path`` (mode 0600), flush it to disk, rename it into place.
    On any failure (a full disk) the half-written file is removed and nothing else changes."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
