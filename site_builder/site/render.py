"""The Jinja environment: StrictUndefined, autoescape, and errors that name the template.

A template that uses a variable its context does not have fails the build with
``SiteTemplateError: templates/district.html, line 12: 'DistrictPage object' has no attribute
'enrolment'`` instead of printing an empty string on a public page.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import jinja2

from site_builder.errors import ReportcardError

TEMPLATES = Path(__file__).parent / "templates"


class SiteTemplateError(ReportcardError):
    """A page template failed to render."""


def environment(extra_dir: Path | None = None) -> jinja2.Environment:
    """Templates from ``extra_dir`` (if given) first, then the package's own."""
    dirs = [str(extra_dir)] if extra_dir is not None else []
    dirs.append(str(TEMPLATES))
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _template_frame(err: BaseException) -> tuple[str, int | None]:
    """The innermost template file and line in the traceback."""
    where: tuple[str, int | None] = ("", None)
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename.endswith(".html"):
            where = (frame.filename, frame.lineno)
    return where


def render(env: jinja2.Environment, name: str, page: object) -> str:
    """Render template ``name`` with ``page`` (its typed context) as the only variable."""
    try:
        return env.get_template(name).render(page=page)
    except jinja2.UndefinedError as err:
        file, line = _template_frame(err)
        shown = Path(file).name if file else name
        at = f", line {line}" if line else ""
        raise SiteTemplateError(
            f"templates/{shown}{at}: undefined variable: {err.message} "
            f"(rendering {name} with {type(page).__name__})\n"
            f"  Hint: add the field to {type(page).__name__} in site_builder/site/contexts.py "
            "or fix its name in the template") from None
    except jinja2.TemplateSyntaxError as err:
        raise SiteTemplateError(
            f"templates/{Path(err.filename or name).name}, line {err.lineno}: "
            f"template syntax error: {err.message}") from None
