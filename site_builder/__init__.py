"""Missouri-style report cards: synthetic extract, protected aggregates, static site."""

__version__ = "0.1.0"
