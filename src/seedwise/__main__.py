"""``python -m seedwise ...``: the same as the ``seedwise`` command."""

from __future__ import annotations

import sys

from seedwise.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in the tests
    sys.exit(main())
