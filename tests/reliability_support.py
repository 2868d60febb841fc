"""Helpers for tests/test_reliability.py: tree hashes, a mixture detector, a killable publish.

Every publish here is the real ``reportcard`` CLI, with no test double. A test that needs a
changed package file (a broken template) runs the CLI of a copy of the repository
(:func:`copy_repo`, then ``repo=`` to :func:`run` or :func:`start`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
SPECS = ROOT / "report_specs"
RC = Path(sys.executable).parent / "reportcard"


# --- trees ------------------------------------------------------------------------------


def tree(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root`` (hidden files included)."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def entries(directory: Path) -> list[str]:
    """Names directly inside ``directory`` (hidden ones included), sorted."""
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def leftovers(parent: Path, site_name: str = "site") -> list[str]:
    """Anything a publish of ``parent/site_name`` may leave beside it when killed or failed:
    staging trees and build work directories (the lock file itself is permanent by design)."""
    return sorted(p.name for p in parent.iterdir()
                  if p.name.startswith((f".{site_name}.staging-", f"..{site_name}.staging-")))


class Mixture(AssertionError):
    """site/ is neither exactly the old nor exactly the new published site."""


def classify(site: Path, candidates: dict[str, dict[str, str]]) -> str:
    """Which candidate tree ``site`` is, exactly; raise :class:`Mixture` otherwise.

    A candidate is the full tree of a published site (manifest.json excluded, since its
    build time differs between two publishes of the same inputs). ``site`` must verify
    against its own manifest, and the manifest's file list must equal the candidate's.
    """
    from site_builder.gate.manifest import MANIFEST, ManifestError, verify

    try:
        v = verify(site)
    except ManifestError as err:
        raise Mixture(f"{site}: {err}") from None
    if not v.ok:
        raise Mixture(v.render())
    recorded = json.loads((site / MANIFEST).read_text("utf-8"))["files"]
    actual = tree(site)
    actual.pop(MANIFEST, None)
    for name, files in candidates.items():
        if recorded == files and actual == files:
            return name
    near = {name: len(set(files.items()) ^ set(actual.items()))
            for name, files in candidates.items()}
    raise Mixture(f"{site}: matches its manifest but is none of {sorted(candidates)} "
                  f"(files differing from each: {near})")


# --- a killable publish -------------------------------------------------------------------


@dataclass
class Running:
    """A ``reportcard publish`` started in its own session, its stderr read line by line."""

    proc: subprocess.Popen[str]
    started: float
    lines: list[tuple[float, str]] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        buf = ""
        while True:
            chunk = self.proc.stderr.read(1)
            if not chunk:
                break
            if chunk in "\r\n":
                if buf.strip():
                    with self._cond:
                        self.lines.append((time.monotonic(), buf))
                        self._cond.notify_all()
                buf = ""
            else:
                buf += chunk
        with self._cond:
            self.lines.append((time.monotonic(), "<eof>"))
            self._cond.notify_all()

    def wait_for(self, pred: Callable[[str], bool], timeout: float) -> float | None:
        """Monotonic time of the first stderr line matching ``pred``; None on EOF/timeout."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for t, line in self.lines[seen:]:
                    if pred(line):
                        return t
                    if line == "<eof>":
                        return None
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def children(self) -> list[int]:
        """Process ids whose parent is the publish process (e.g. the papermill kernel)."""
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stat = (d / "stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == self.proc.pid:
                    out.append(int(d.name))
        return out

    def kill(self) -> None:
        """SIGKILL the whole process group (the publish and anything in its session)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def text(self) -> str:
        with self._cond:
            return "\n".join(line for _, line in self.lines)


def copy_repo(dst: Path) -> Path:
    """What the CLI runs from (package, notebooks, specs, mkdocs.yml), copied to ``dst``."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("site_builder", "notebooks", "report_specs"):
        shutil.copytree(ROOT / name, dst / name, ignore=ignore)
    shutil.copy2(ROOT / "mkdocs.yml", dst / "mkdocs.yml")
    return dst


def _command(args: list[str], repo: Path | None) -> tuple[list[str], dict[str, str], Path]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    env.pop("SOURCE_DATE_EPOCH", None)
    if repo is None:
        return [str(RC), *args], env, ROOT
    env["PYTHONPATH"] = str(repo)  # the copy's site_builder, in the CLI and in the kernel
    return [sys.executable, "-m", "site_builder.cli", *args], env, repo


def start(args: list[str], *, repo: Path | None = None) -> Running:
    """Start ``reportcard <args>`` (of the repository copy ``repo``, if given)."""
    cmd, env, cwd = _command(args, repo)
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    run = Running(proc=proc, started=time.monotonic())
    threading.Thread(target=run._read, daemon=True).start()
    return run


def run(args: list[str], *, timeout: float = 600,
        repo: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``reportcard <args>`` (of the repository copy ``repo``, if given) to the end."""
    cmd, env, cwd = _command(args, repo)
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- a deliberately non-atomic publisher, to show the checker can fail ---------------------


def copy_in_place(new: Path, site: Path, stop_after: int) -> None:
    """What a naive publisher does: overwrite site/ file by file. Stops (as if killed)
    after ``stop_after`` files."""
    for n, src in enumerate(sorted(p for p in new.rglob("*") if p.is_file())):
        if n == stop_after:
            return
        dst = site / src.relative_to(new)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
