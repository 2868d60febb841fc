"""The gate's file checks, with clean verdicts remembered.

Every check the gate makes of one file (PII, privacy, row-level) is a function of:

* the file's path in the site and its bytes;
* the extract's restricted values (:meth:`pii.PiiNeedles.digest`, the values themselves,
  not the extract's files: new test results for one district do not change a name);
* for a page (``.html``), the numbers the site's CSV downloads publish, which its tables and
  charts are checked against (the SHA-256 of every CSV under ``downloads/``);
* the code of ``site_builder`` (every ``.py`` file) and the installed packages.

A file's key is the SHA-256 of all of those; a key whose file was clean before is not
checked again. Only clean files are remembered: a file with a finding is checked every
time. The record holds only the keys of the last run's clean files (64 hex characters each,
no path, no content), written atomically. Nothing about the site is trusted: the gate reads
and hashes every file each time, so a changed byte is a new key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from site_builder import incremental

FORMAT = "gate scan v1"
RECORD = "clean.json"
PACKAGE = Path(__file__).resolve().parents[1]


def code_digest() -> str:
    """SHA-256 of every Python file of ``site_builder`` (templates are pages' bytes)."""
    return incremental.files_digest(PACKAGE, sorted(PACKAGE.rglob("*.py")))


def context(needles_digest: str) -> str:
    """What every file's checks depend on besides the file itself and the downloads."""
    return incremental._sha("\n".join([FORMAT, needles_digest, code_digest(),
                                       incremental.environment_digest()]).encode())


def file_key(ctx: str, rel: str, content_sha: str, downloads: str | None) -> str:
    """The key of one file's checks; ``downloads`` only for a page checked against them."""
    return incremental._sha("\n".join([ctx, rel, content_sha, downloads or "-"]).encode())


def file_keys(site: Path, files: list[Path], ctx: str) -> dict[Path, str]:
    """The key of each of ``files`` (under ``site``): a page's covers the CSV downloads."""
    shas = {p: incremental.file_sha256(p) for p in files}
    rels = {p: p.relative_to(site).as_posix() for p in files}
    downloads = incremental._sha("".join(
        f"{rels[p]}\0{shas[p]}\n" for p in files
        if p.suffix == ".csv" and rels[p].startswith("downloads/")).encode())
    return {p: file_key(ctx, rels[p], shas[p], downloads if p.suffix.lower() in (
        ".html", ".htm") else None) for p in files}


class CleanFiles:
    """Keys of files that passed every check, read from and written to ``cache``."""

    def __init__(self, cache: Path) -> None:
        self.path = Path(cache) / RECORD
        self.before = self._read()
        self.now: set[str] = set()

    def _read(self) -> frozenset[str]:
        try:
            doc = json.loads(self.path.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            return frozenset()
        ok = isinstance(doc, dict) and doc.get("format") == FORMAT
        return frozenset(k for k in doc.get("clean", []) if isinstance(k, str)) if ok \
            else frozenset()

    def __contains__(self, key: str) -> bool:
        return key in self.before

    def keep(self, key: str) -> None:
        self.now.add(key)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        text = json.dumps({"format": FORMAT, "clean": sorted(self.now)}) + "\n"
        incremental.atomic_write(self.path, lambda tmp: tmp.write_text(text, "utf-8"))
