"""``reportcard publish``: compute, build into staging, gate, then swap ``site/`` atomically.

The order is the guarantee:

1. take the publish lock (a second publish refuses at once, naming the holder);
2. remove staging directories left by killed runs;
3. compute and protect the aggregates (the notebook validates the extract first);
4. build the site into a staging directory *beside* ``site/`` (same filesystem);
5. run the gate on the staged files; on any finding, stop;
6. write ``manifest.json`` and flush everything to disk;
7. exchange staging and ``site/`` in one ``renameat2(RENAME_EXCHANGE)`` system call, so a
   reader, or a crash, sees either the complete old site or the complete new one;
8. delete the old site.

Any failure before step 7 leaves ``site/`` untouched; the error says which step failed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from site_builder.errors import ReportcardError
from site_builder.gate.manifest import write_manifest
from site_builder.store import fsync_dir

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


class PublishError(ReportcardError):
    pass


class PublishLocked(PublishError):
    pass


def swap_directories(new: Path, current: Path) -> None:
    """Atomically put ``new`` at ``current``; the old tree ends up at ``new``.

    With no current site this is a plain rename (also atomic).
    """
    if not current.exists():
        os.rename(new, current)
        return
    rc = _libc.renameat2(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(current),
                         _RENAME_EXCHANGE)
    if rc != 0:
        err = ctypes.get_errno()
        raise PublishError(
            f"could not swap {new} into {current}: {os.strerror(err)}\n"
            "  Hint: the staging directory and site/ must be on the same filesystem "
            f"(Linux 3.15+); {current}/ was not changed.")


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def staging_dir(site: Path) -> Path:
    return site.parent / f".{site.name}.staging-{os.getpid()}"


def _stale_staging(site: Path) -> list[Path]:
    # ..site.staging-<pid>.src: build_site's work directory for that staging tree
    return sorted([*site.parent.glob(f".{site.name}.staging-*"),
                   *site.parent.glob(f"..{site.name}.staging-*")])


@dataclass
class PublishResult:
    site: Path
    files: int
    seconds: float
    gate_summary: str


class PublishLock:
    """An exclusive lock beside ``site/``; a second publisher is refused, not queued."""

    def __init__(self, site: Path, *, wait: float = 0.0) -> None:
        self.path = site.parent / f".{site.name}.publish.lock"
        self.info = site.parent / f".{site.name}.publish.owner"
        self.wait = wait
        self._lock = FileLock(str(self.path))

    def __enter__(self) -> PublishLock:
        try:
            self._lock.acquire(timeout=self.wait)
        except Timeout:
            owner = self.info.read_text("utf-8").strip() if self.info.exists() else "unknown"
            raise PublishLocked(
                f"another `reportcard publish` is already running ({owner}); nothing was "
                "changed.\n  Hint: wait for it to finish; site/ is only ever replaced whole."
            ) from None
        self.info.write_text(f"pid {os.getpid()} since "
                             f"{time.strftime('%H:%M:%S', time.localtime())}\n", "utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self.info.unlink(missing_ok=True)
        self._lock.release()


def publish_staged(staging: Path, site: Path, *, extract: Path | None, specs: Path,
                   parameters: dict[str, object],
                   gate: Callable[[Path], str],
                   say: Callable[[str], None] | None = None) -> PublishResult:
    """Steps 5-8 for an already built staging directory (the caller holds the lock).

    ``say``: told of each step as it starts (progress output; the reliability tests time
    their SIGKILLs by it)."""
    tell = say or (lambda _message: None)
    started = time.perf_counter()
    summary = gate(staging)
    tell("writing manifest.json")
    write_manifest(staging, specs=specs, extract=extract, parameters=parameters)
    tell("flushing the staged site to disk")
    _fsync_tree(staging)
    tell("swapping it in")
    swap_directories(staging, site)
    tell("swapped")
    # The exchange is atomic, but only durable once the parent directory is on disk: a
    # power cut right after it could otherwise bring back the old site (or none at all).
    fsync_dir(site.parent)
    if staging.exists():  # the old site, after an exchange
        shutil.rmtree(staging)
    files = sum(1 for p in site.rglob("*") if p.is_file())
    return PublishResult(site=site, files=files, seconds=time.perf_counter() - started,
                         gate_summary=summary)


def clean_stale_staging(site: Path) -> list[Path]:
    """Remove staging trees of killed runs (call with the lock held)."""
    removed = []
    for p in _stale_staging(site):
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed
