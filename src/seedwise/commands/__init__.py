"""Subcommands of the ``seedwise`` CLI, one module each (see :mod:`seedwise.cli`)."""
