"""The built-in demo: a small CNN on scikit-learn's digits (see :mod:`seedwise.demo.run`)."""

from __future__ import annotations

from seedwise.demo.run import PROFILES, run_demo

__all__ = ["run_demo", "PROFILES"]
