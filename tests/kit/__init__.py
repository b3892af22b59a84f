"""Shared contract helpers for the tests (see docs/architecture.md, "Tests").

:mod:`kit.globals`: snapshot every global RNG of this process and compare two snapshots,
to prove that a seedwise call (and every import it triggers) leaves them untouched.
"""
