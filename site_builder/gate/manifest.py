"""Provenance: ``site/manifest.json`` says what a published site was made from.

The manifest records the specs' hash, the extract's hash, the package version, the
parameters, the source date and a SHA-256 for every file. The source date is taken from the
inputs, not the clock: ``SOURCE_DATE_EPOCH`` if set (the reproducible-builds convention),
else the newest modification time of the extract's files (when the data last changed). So
two builds of the same inputs, clean or incremental, give byte-identical manifests. It lives
here only, never in a page body. ``reportcard verify site/`` re-hashes every file against it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from site_builder import __version__
from site_builder.errors import ReportcardError
from site_builder.store import MANIFEST, synthetic_identity


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_hashes(root: Path, *, exclude: tuple[str, ...] = (MANIFEST,)) -> dict[str, str]:
    """Relative POSIX path -> SHA-256 of every file under ``root``, sorted."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            if rel not in exclude:
                out[rel] = sha256_file(p)
    return out


def tree_digest(root: Path, pattern: str = "**/*") -> str:
    """One SHA-256 over a directory's files (names and contents), for provenance."""
    h = hashlib.sha256()
    if root.is_file():
        h.update(sha256_file(root).encode())
        return h.hexdigest()
    for p in sorted(root.glob(pattern)):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + b"\0")
            h.update(sha256_file(p).encode() + b"\n")
    return h.hexdigest()


def source_date(extract: Path | None, specs: Path) -> datetime:
    """``SOURCE_DATE_EPOCH`` if set, else the newest modification time of the extract's
    files (of the specs' files when there is no extract)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            return datetime.fromtimestamp(int(epoch), UTC)
        except (ValueError, OverflowError, OSError):
            raise ReportcardError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds since 1970-01-01.\n"
                "  Hint: set it to e.g. $(date +%s), or unset it to use the extract's date"
            ) from None
    root = extract if extract is not None and extract.exists() else specs
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    newest = max((p.stat().st_mtime for p in files), default=0.0)
    return datetime.fromtimestamp(int(newest), UTC)


def write_manifest(site: Path, *, specs: Path, extract: Path | None,
                   parameters: dict[str, object], built_from: datetime | None = None) -> Path:
    """Hash every file of ``site`` and write the manifest beside them."""
    when = built_from or source_date(extract, specs)
    doc = {
        "package": "site-builder",
        "package_version": __version__,
        "source_date": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "parameters": parameters,
        "specs_sha256": tree_digest(specs, "*.yaml"),
        "extract_sha256": tree_digest(extract) if extract is not None and extract.exists()
        else None,
        # Whose students these are, where the extract says (a synthetic one): a later
        # release from another synthetic state is not a release of the same students.
        "extract_identity": synthetic_identity(extract) if extract is not None else None,
        "files": tree_hashes(site),
    }
    path = site / MANIFEST
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", "utf-8")
    return path


@dataclass
class Verification:
    site: Path
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.changed)

    def render(self) -> str:
        if self.ok:
            return f"{self.site}: all {self.files:,} files match manifest.json."
        lines = [f"{self.site}: does NOT match manifest.json"]
        for label, items in (("missing", self.missing), ("not in the manifest", self.extra),
                             ("changed since publishing", self.changed)):
            for rel in items[:20]:
                lines.append(f"  {label}: {rel}")
            if len(items) > 20:
                lines.append(f"  ... {len(items) - 20} more {label}")
        return "\n".join(lines)


class ManifestError(ReportcardError):
    pass


def verify(site: Path) -> Verification:
    """Re-hash every file of a published site against its manifest."""
    path = site / MANIFEST
    if not path.exists():
        raise ManifestError(f"{path}: no manifest.json; this directory was not published by "
                            "`reportcard publish`.\n  Hint: publish with `reportcard publish`.")
    try:
        recorded: dict[str, str] = json.loads(path.read_text("utf-8"))["files"]
    except (json.JSONDecodeError, KeyError) as err:
        raise ManifestError(f"{path}: unreadable manifest ({err}).") from None
    actual = tree_hashes(site)
    v = Verification(site=site, files=len(recorded))
    v.missing = sorted(set(recorded) - set(actual))
    v.extra = sorted(set(actual) - set(recorded))
    v.changed = sorted(k for k in set(recorded) & set(actual) if recorded[k] != actual[k])
    return v
