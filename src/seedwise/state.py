"""Old path of :mod:`seedwise.process.state`; it re-exports the same names and warns (DeprecationWarning). Import from there."""

from seedwise._deprecated import moved
from seedwise.process.state import FORMAT_VERSION, RNGState

__all__ = ["RNGState", "FORMAT_VERSION"]

moved("seedwise.state", "seedwise.process.state (or use sw.RNGState)")
