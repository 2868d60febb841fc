"""The public static site: rendered from published (protected) cells only."""

from site_builder.site.build import BuildResult, build_site

__all__ = ["BuildResult", "build_site"]
