"""What an integration records about a training run: its seeds tree, seed_everything report and fingerprint.

The document is nested and JSON-ready::

    {"seeds": {"root": Seeds.to_json(), "streams": {"init": "<int(seeds['init'])>", ...}},
     "seed_everything": report.to_dict() or None,
     "fingerprint": seedwise.fingerprint()}

``Seeds.from_json(document["seeds"]["root"])`` gives the run's seeds back exactly
(overrides included); the stream values are decimal strings because a 64-bit int does
not survive a JSON number (a float64) or a logger's web page.
"""

from __future__ import annotations

from typing import Any

from seedwise.errors import InvalidTypeError
from seedwise.seeds import Seeds
from seedwise.streams import WELL_KNOWN

__all__ = ["run_document", "check_report"]


def check_report(report: object) -> None:
    """Refuse anything but what :func:`seedwise.seed_everything` returned (or None)."""
    from seedwise.everything import SeedReport

    if report is not None and not isinstance(report, SeedReport):
        raise InvalidTypeError(
            f"report must be what seedwise.seed_everything() returned (a SeedReport) or None, got "
            f"{type(report).__name__}"
        )


def run_document(seeds: Seeds, report: Any = None) -> dict[str, Any]:
    """The record of a run (see the module doc); takes :func:`seedwise.fingerprint` now."""
    from seedwise.fingerprint import fingerprint

    check_report(report)
    return {
        "seeds": {"root": seeds.to_json(), "streams": {name: str(int(seeds[name])) for name in WELL_KNOWN}},
        "seed_everything": None if report is None else report.to_dict(),
        "fingerprint": fingerprint(import_frameworks=False),
    }
