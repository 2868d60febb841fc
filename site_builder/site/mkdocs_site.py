"""Run a real ``mkdocs build`` (mkdocs-material) over the generated docs directory.

The repository's ``mkdocs.yml`` is the base configuration; this module writes a generated
copy beside the docs (absolute ``docs_dir``, ``site_dir``, theme overrides and hooks) and
builds it in-process. The overrides add the Content-Security-Policy, move material's one
inline script into a file (so the CSP needs no ``'unsafe-inline'`` for scripts), and drop
``sitemap.xml`` (it carries the build date and needs an absolute site URL).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import yaml

from site_builder.errors import ReportcardError

PACKAGE = Path(__file__).parent
OVERRIDES = PACKAGE / "overrides"
HOOKS = PACKAGE / "mkdocs_hooks.py"
REPO_CONFIG = PACKAGE.parents[1] / "mkdocs.yml"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "frame-src 'none'; base-uri 'self'; form-action 'self'")
"""No other origin, anywhere. Scripts: only files from this site (no inline script, no
eval: charts use Vega's expression interpreter). Styles allow inline because vega-embed and
material set style attributes."""

FALLBACK_CONFIG: dict[str, Any] = {
    "site_name": "Missouri School Report Cards",
    "theme": {"name": "material", "font": False, "language": "en"},
    "plugins": [],
    "use_directory_urls": True,
}


class MkdocsBuildError(ReportcardError):
    pass


def base_config(path: Path | None = None) -> dict[str, Any]:
    path = path or REPO_CONFIG
    if path.exists():
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        if not isinstance(data, dict):
            raise MkdocsBuildError(f"{path}: not a mapping")
        return data
    return dict(FALLBACK_CONFIG)


def write_config(work: Path, docs: Path, site: Path, base: dict[str, Any],
                 notice: str | None = None) -> Path:
    """The generated mkdocs.yml for this build (``notice``: a line shown atop every page)."""
    cfg = dict(base)
    theme = dict(cfg.get("theme") or {})
    theme["name"] = "material"
    theme["font"] = False
    theme["custom_dir"] = str(OVERRIDES)
    cfg["theme"] = theme
    cfg["docs_dir"] = str(docs)
    cfg["site_dir"] = str(site)
    cfg["hooks"] = [str(HOOKS)]
    cfg["plugins"] = []  # no search index of 3,000 pages, nothing that phones home
    cfg.setdefault("extra", {})
    cfg["extra"] = {**cfg["extra"], "generator": False, "csp": CSP, "notice": notice or ""}
    path = work / "mkdocs.yml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=True, allow_unicode=True), "utf-8")
    return path


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_mkdocs(config_file: Path) -> None:
    """``mkdocs build --strict`` in-process; warnings become one clear error."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    log = logging.getLogger("mkdocs")
    handler = _Collect()
    log.addHandler(handler)
    try:
        cfg = load_config(config_file=str(config_file), strict=True)
        build(cfg)
    except (MkDocsException, SystemExit) as err:
        raise MkdocsBuildError(
            f"mkdocs build failed: {err}\n" + "\n".join(handler.messages[:20])) from None
    finally:
        log.removeHandler(handler)


def copy_assets(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.iterdir()):
        if p.is_file():
            shutil.copyfile(p, dest / p.name)
