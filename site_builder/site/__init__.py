"""The public static site: rendered from published (protected) cells only.

``build_site`` and ``BuildResult`` are imported lazily so that ``reportcard serve`` starts
without loading polars, altair and mkdocs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from site_builder.site.build import BuildResult, build_site

__all__ = ["BuildResult", "build_site"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from site_builder.site import build

        return getattr(build, name)
    raise AttributeError(name)
