"""Old path of :mod:`seedwise.process.seeding`; it re-exports the same names. Import from there."""

from seedwise.process.seeding import SeedReport, global_seed, keyed, seed_everything

__all__ = ["SeedReport", "seed_everything", "keyed", "global_seed"]
