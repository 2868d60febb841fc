"""Helpers for tests/test_reliability.py: tree hashes, a mixture detector, a killable publish.

Run as a script, this module is the real ``reportcard`` CLI with optional, declared test
doubles, chosen by the ``RELIABILITY_STUBS`` environment variable (comma-separated):

* ``compute``: ``run_compute`` does nothing; ``--aggregates`` must already hold computed,
  protected aggregates (so a fault-injection trial need not wait ~100 s for the notebook);
* ``audit``: the gate's LP disclosure audit is skipped (its other checks still run);
* ``markers``: print ``@@ <event>`` lines to stderr around the gate-and-swap internals
  (``manifest``, ``fsync``, ``swap``, ``swapped``, ``old-removed``) so that a test can send
  SIGKILL at a chosen instant of the swap step;
* ``templates=DIR``: put the templates in DIR in front of the package's own (like
  ``build_site(..., template_dir=DIR)``; ``publish`` has no such option).

Everything else (lock, stale-staging clean-up, build, gate, manifest, swap) is the real code.
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


def start(args: list[str], *, stubs: str = "", cwd: Path = ROOT) -> Running:
    """Start ``reportcard <args>`` (through this module when ``stubs`` are given)."""
    env = dict(os.environ, RELIABILITY_STUBS=stubs, PYTHONUNBUFFERED="1", COLUMNS="200")
    cmd = [sys.executable, str(HERE), *args] if stubs else [str(RC), *args]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    run = Running(proc=proc, started=time.monotonic())
    threading.Thread(target=run._read, daemon=True).start()
    return run


def run(args: list[str], *, stubs: str = "", timeout: float = 600,
        cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``reportcard <args>`` to the end (through this module when ``stubs`` are given)."""
    env = dict(os.environ, RELIABILITY_STUBS=stubs, COLUMNS="200")
    cmd = [sys.executable, str(HERE), *args] if stubs else [str(RC), *args]
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


# --- the stubbed CLI ----------------------------------------------------------------------


def _marker(event: str) -> None:
    sys.stderr.write(f"@@ {event}\n")
    sys.stderr.flush()


def _install_stubs(stubs: list[str]) -> None:
    if "compute" in stubs:
        import site_builder.runner as runner

        def no_compute(**kwargs: object) -> Path:
            _marker("compute stubbed: using the aggregates already in place")
            return Path(str(kwargs["out"]))

        runner.run_compute = no_compute  # type: ignore[assignment]
    if "audit" in stubs:
        import site_builder.gate as gate

        gate._disclosure_audit = (  # type: ignore[assignment]
            lambda site, policy, report, raw_cells=None, cache=None: [])
    if "markers" in stubs:
        import site_builder.gate.publish as pub

        real_manifest, real_fsync, real_swap = pub.write_manifest, pub._fsync_tree, \
            pub.swap_directories

        def manifest(*a: object, **k: object) -> Path:
            _marker("manifest")
            return real_manifest(*a, **k)  # type: ignore[arg-type]

        def fsync(root: Path) -> None:
            _marker("fsync")
            real_fsync(root)

        def swap(new: Path, current: Path) -> None:
            _marker("swap")
            real_swap(new, current)
            _marker("swapped")

        pub.write_manifest = manifest  # type: ignore[assignment]
        pub._fsync_tree = fsync
        pub.swap_directories = swap
    extra = [Path(s.split("=", 1)[1]) for s in stubs if s.startswith("templates=")]
    if extra:
        import site_builder.site.build as build

        real_env = build.environment

        def env(template_dir: Path | None = None) -> object:
            return real_env(template_dir or extra[0])

        build.environment = env  # type: ignore[assignment]


if __name__ == "__main__":
    _install_stubs([s for s in os.environ.get("RELIABILITY_STUBS", "").split(",") if s])
    from site_builder.cli import main

    main(prog_name="reportcard")
