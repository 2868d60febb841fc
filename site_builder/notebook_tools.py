"""Running the workbench notebooks, and small helpers their cells call.

The notebooks in ``notebooks/`` are the analysts' workbench and the production steps.
:func:`execute_notebook` runs one through papermill strictly: parameters are checked against
the notebook's ``parameters`` cell first, the executed copy is restricted (mode 0600), and a
failure is reported as :class:`NotebookFailed` naming the failed cell and the underlying error
message instead of a papermill traceback.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import polars as pl

from site_builder import schema
from site_builder.errors import ReportcardError
from site_builder.extract import find_file, scan_file

KERNEL_NAME = "python3"

PROJECT_ROOT = Path(__file__).resolve().parents[1]
"""The repository root: relative notebook parameters are taken relative to it, so a notebook
opened in JupyterLab (whose working directory is notebooks/) finds data/, build/ and
report_specs/ just as ``reportcard`` does."""


def project_path(path: Path | str) -> Path:
    """``path`` if absolute, else the same path under the repository root."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else PROJECT_ROOT / p


class NotebookFailed(ReportcardError):
    """A notebook run failed; the message names the notebook, the cell and the error."""


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """The parameters a notebook declares in its ``parameters`` cell (papermill inspection)."""
    import papermill

    return dict(papermill.inspect_notebook(str(notebook)))


def check_parameters(notebook: Path, parameters: Mapping[str, Any]) -> None:
    """Raise NotebookFailed if ``parameters`` names one the notebook does not declare."""
    known = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise NotebookFailed(
            f"{notebook}: unknown parameter{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)} (known: {', '.join(sorted(known)) or 'none'})")


def _disk_full(message: str) -> bool:
    return "No space left on device" in message or "Disk quota exceeded" in message


def _cell_name(source: str) -> str:
    """A cell's name: its first comment line ('# Load the extract' -> 'Load the extract')."""
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("#"):
            return line.lstrip("# ").strip()
        if line:
            return line[:60]
    return "(empty cell)"


def _expected_error_names() -> set[str]:
    """Class names of every expected failure (ReportcardError and its subclasses)."""
    import contextlib
    import importlib

    for mod in ("site_builder.contract", "site_builder.disclosure", "site_builder.specs"):
        with contextlib.suppress(Exception):  # a layer may not be importable yet
            importlib.import_module(mod)
    names, todo = set(), [ReportcardError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _EchoLines:
    """A file papermill writes a running notebook's printed output to: each whole line that
    starts with one of ``prefixes`` goes to the console as it is printed (above the progress
    bar), e.g. "protect: 2024 protected and audited (1 of 5, ...)" during a long cell."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.prefixes, self.buf = prefixes, ""

    def write(self, text: str) -> None:
        from tqdm import tqdm

        self.buf += text
        *lines, self.buf = self.buf.split("\n")
        for line in lines:
            if line.startswith(self.prefixes):
                tqdm.write(line)

    def flush(self) -> None:
        pass


def kernel_log_path(output: Path) -> Path:
    """Where the kernel that ran into ``output`` wrote its own messages (see
    :func:`execute_notebook`)."""
    return output.with_name(output.stem + ".kernel.log")


def _kernel_manager(log: IO[bytes]) -> type:
    """A kernel manager whose kernel writes its stderr to ``log`` rather than the console.

    The kernel's stderr holds the kernel's own messages, not the notebook's output (which
    papermill keeps in the executed notebook): its warning at start that it runs over TCP,
    and the tracebacks of its event loop when it shuts down after a failed cell (a
    ZMQStream callback racing the closing sockets). On the console those read as a crash
    after a clear error message; in a file beside the executed notebook they are kept for
    whoever wants them.
    """
    from jupyter_client.manager import AsyncKernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            kw.setdefault("stderr", log)  # a Popen argument; start_kernel passes it on
            await super().start_kernel(**kw)

    return LoggedKernelManager


def _tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(errors="replace").rstrip() if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def execute_notebook(notebook: Path, output: Path, parameters: Mapping[str, Any], *,
                     progress: bool = True, cwd: Path | None = None,
                     echo: tuple[str, ...] = ()) -> Path:
    """Execute ``notebook`` with ``parameters`` into ``output`` (mode 0600) with a real kernel.

    ``echo``: printed lines starting with one of these go to the console as the notebook
    prints them (the rest stays in the executed notebook).

    Raises :class:`NotebookFailed` for an unknown parameter (before starting a kernel), for
    an error in any cell: ``<notebook> failed in cell N "<name>": <error message>``, and for
    a kernel that died (killed for memory, say). An error that is not an expected failure (a
    bug) keeps its traceback in the message. The kernel's own messages go to
    :func:`kernel_log_path` (mode 0600), not the console.
    """
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    notebook = Path(notebook)
    if not notebook.exists():
        raise NotebookFailed(f"{notebook}: notebook not found")
    check_parameters(notebook, parameters)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(output.parent, 0o700)
    os.close(os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    log_path = kernel_log_path(output)
    try:
        with open(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as log:
            papermill.execute_notebook(
                str(notebook), str(output), parameters=dict(parameters), kernel_name=KERNEL_NAME,
                progress_bar=progress, cwd=str(cwd) if cwd else None,
                stdout_file=_EchoLines(echo) if echo else None,
                kernel_manager_class=_kernel_manager(log))
    except DeadKernelError:
        raise NotebookFailed(
            f"{notebook.name}: the notebook's kernel died before it finished. The usual cause "
            f"is memory: the system stops a process that uses too much, without a word. The "
            f"end of the kernel's log ({log_path}):\n{_tail(log_path) or '(empty)'}"
            f"\n(executed notebook kept at {output})") from None
    except PapermillExecutionError as err:
        head = (f"{notebook.name} failed in cell {err.exec_count} "
                f"\"{_cell_name(err.source)}\":\n")
        if err.ename in _expected_error_names() or _disk_full(err.evalue):
            body = err.evalue  # a full disk is not a bug either: no traceback
        else:
            body = _ANSI.sub("", "\n".join(err.traceback))
        raise NotebookFailed(head + body + f"\n(executed notebook kept at {output})") from None
    finally:
        if output.exists():
            os.chmod(output, 0o600)
    return output


# --- helpers for district_profile.ipynb ---------------------------------------------------


def read_directory(extract_dir: Path | str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The extract's public directory: (districts, schools)."""
    root = Path(extract_dir) / "directory"
    frames = []
    for spec in (schema.DISTRICTS, schema.SCHOOLS):
        path = find_file(root, spec.name)
        if path is None:
            raise ReportcardError(f"{root / spec.name}.csv: file is missing; is {extract_dir} an "
                                  f"extract?")
        frames.append(scan_file(path, spec).collect())
    return frames[0], frames[1]


def find_district(districts: pl.DataFrame, code: str | int) -> dict[str, Any]:
    """The directory row of district ``code``; an unknown code lists near matches. A code
    that lost its leading zeros is padded back to six digits: ``papermill -p district_code
    001091`` passes the number 1091, and a spreadsheet drops them too."""
    code = str(code).strip()
    if code.isdigit() and len(code) < 6:
        code = code.zfill(6)
    hit = districts.filter(pl.col("district_code") == code)
    if hit.height == 1:
        return hit.row(0, named=True)
    rows = districts.select("district_code", "district_name").rows()
    by_code = difflib.get_close_matches(code, [c for c, _ in rows], n=5, cutoff=0.5)
    names = {n.lower(): c for c, n in rows}
    by_name = [names[n] for n in difflib.get_close_matches(code.lower(), list(names), n=5,
                                                          cutoff=0.4)]
    near = list(dict.fromkeys(by_code + by_name))[:5]
    listed = ", ".join(f"{c} ({dict(rows)[c]})" for c in near) or "none"
    raise ReportcardError(f"unknown district code {code!r}: no district has it in the extract "
                          f"directory ({districts.height} districts). Near matches: {listed}")


def district_cells(cells: pl.DataFrame, district_code: str) -> pl.DataFrame:
    """The cells of one district, its schools and the state (for comparison)."""
    return cells.filter((pl.col("district_code") == district_code)
                        | (pl.col("level") == "state"))


def with_rate(cells: pl.DataFrame) -> pl.DataFrame:
    """Add an exact percentage (INTERNAL: unrounded, nothing withheld)."""
    return cells.with_columns(
        pl.when(pl.col("n_meeting").is_not_null() & (pl.col("n_students") > 0))
        .then((100 * pl.col("n_meeting") / pl.col("n_students")).round(1))
        .alias("rate_internal"))


def side_by_side(raw: pl.DataFrame, published: pl.DataFrame | None, *, topic: str,
                 year: int, level: str = "district", measure: str | None = None,
                 grade: str | None = None) -> pl.DataFrame:
    """One topic's table for one year: what the public sees beside the INTERNAL values.

    ``measure``, ``grade``: only those rows. A key column with the same value in every row
    (the level, the district, the one measure asked for) and a value column empty in every
    row (an enrollment count has no numerator or rate) are left out, so that the groups and
    their numbers fit the notebook's width."""
    keys = ["level", "district_code", "school_code", "measure", "subject", "grade",
            "group_family", "student_group"]
    rows = [pl.col("topic") == topic, pl.col("year") == year, pl.col("level") == level]
    rows += [pl.col(c) == v for c, v in (("measure", measure), ("grade", grade))
             if v is not None]
    internal = (with_rate(raw.filter(*rows))
                .select(*keys, pl.col("n_students").alias("INTERNAL n_students"),
                        pl.col("n_meeting").alias("INTERNAL n_meeting"),
                        pl.col("rate_internal").alias("INTERNAL rate %")))
    if published is None:
        out = internal.with_columns(pl.lit("(not protected yet)").alias("public display"))
    else:
        public = published.filter(*rows).select(
            *keys, pl.col("display").alias("public display"),
            pl.col("reason").alias("public suppression"))
        out = public.join(internal, on=keys, how="left", nulls_equal=True).select(
            *keys, "public display", "public suppression", "INTERNAL n_students",
            "INTERNAL n_meeting", "INTERNAL rate %")
    if not out.height:
        return out
    same = [k for k in keys if k != "student_group" and out[k].n_unique() == 1]
    empty = [c for c in ("INTERNAL n_meeting", "INTERNAL rate %")
             if out[c].null_count() == out.height]
    return out.drop(*same, *empty)
