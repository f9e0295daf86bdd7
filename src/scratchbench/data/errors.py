"""Exception types of the data layer."""

from __future__ import annotations


class DataFormatError(ValueError):
    """A raw data file is malformed (bad magic, short file, wrong keys/shapes, unreadable image)."""
