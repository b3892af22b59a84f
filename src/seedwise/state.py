"""Old path of :mod:`seedwise.process.state`; it re-exports the same names. Import from there."""

from seedwise.process.state import FORMAT_VERSION, RNGState

__all__ = ["RNGState", "FORMAT_VERSION"]
