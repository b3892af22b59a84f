"""Old path of :mod:`seedwise.process.seeding`; it re-exports the same names and warns (DeprecationWarning). Import from there."""

from seedwise._deprecated import moved
from seedwise.process.seeding import SeedReport, global_seed, keyed, seed_everything

__all__ = ["SeedReport", "seed_everything", "keyed", "global_seed"]

moved("seedwise.everything", "seedwise.process.seeding (or use sw.seed_everything, sw.keyed)")
