"""Saksi: captures online posts as sealed, verifiable evidence.

This package holds the interfaces (the CLI, the job runner); capture and evidence logic
live in `crawlers`, `archivers` and `storage`.
"""

__version__ = "0.1.0"
