"""The ``seedwise`` command.

Each subcommand lives in its own module under :mod:`seedwise.commands` and exposes
``add_parser(subparsers)``, which registers its parser and sets ``func`` (a callable
``(args) -> int`` returning the exit code) with ``set_defaults``.

Exit codes: 0 success, 1 a negative answer (not repeatable, not significant...),
2 bad usage or bad input (one line on stderr, no traceback unless ``--debug``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from seedwise._version import __version__
from seedwise.commands import audit, compare, demo, env, export, report, study
from seedwise.errors import UsageError
from seedwise.study._rich import import_rich

#: Subcommand modules, in the order --help lists them; each one's ``add_parser`` registers it.
COMMANDS = (demo, study, report, compare, export, audit, env)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seedwise",
        description="Tame the randomness in deep-learning training: control, measure, reduce and audit it.",
    )
    parser.add_argument("--version", action="version", version=f"seedwise {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    for command in sub.choices.values():
        _accept_debug(command)
    return parser


def _accept_debug(parser: argparse.ArgumentParser) -> None:
    """Let ``--debug`` also come after the command (``seedwise audit f.py:step --debug``)."""
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors"
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _accept_debug(child)


def _split_command(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """The options before the first ``--``, and the command line after it (None without ``--``)."""
    if "--" not in argv:
        return argv, None
    i = argv.index("--")
    return argv[:i], argv[i + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    import_rich()  # before any command shows a table: rich's first import would move Python's global random
    parser = build_parser()
    options, rest = _split_command(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(options)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    args.rest = rest
    try:
        if rest is not None and not getattr(args, "takes_command", False):
            raise UsageError(f"unexpected arguments after --: {' '.join(rest) or '(none)'}")
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("seedwise: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`seedwise env --json | head`): not an error of ours. Point
        # stdout at /dev/null so that the flush at exit does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (UsageError, ValueError, TypeError, ImportError, OSError) as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"seedwise {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
