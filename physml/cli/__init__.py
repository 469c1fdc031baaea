"""The ``physml`` command. Each subcommand lives in the module named after it and registers itself here.

Building the parser imports only these modules, which import no simulator, NumPy or torch at the top:
``physml --help`` starts in a fraction of a second. The work is imported by each command's handler.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from physml._version import __version__
from physml.cli import critical, dataset, demo, discover, evaluate, qnm, simulate, train
from physml.cli.arguments import Parser

__all__ = ["build_parser", "main"]

#: Commands whose interrupted work resumes when rerun (dataset builds, training runs, the demo).
RESUMABLE = ("dataset", "train", "demo")

#: Modules providing ``register(subparsers)``; later issues append theirs.
COMMANDS = (demo, simulate, dataset, train, evaluate, qnm, critical, discover)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="physml",
        description="physml: verified physics simulators, datasets and surrogate models.",
    )
    parser.add_argument("--version", action="version", version=f"physml {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``physml`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    from physml.errors import BuildError, UnstableRunError, one_line

    try:
        return int(args.handler(args) or 0)
    except ValueError as exc:  # invalid parameters or unusable files: a message, not a traceback
        parser.exit(2, f"physml: error: {one_line(exc)}\n")
    except UnstableRunError as exc:
        parser.exit(1, f"physml: run stopped: {one_line(exc)}\n")
    except BuildError as exc:
        parser.exit(1, f"physml: build stopped: {one_line(exc)}\n")
    except FloatingPointError as exc:
        from physml.training.guards import TrainingDivergedError  # needs torch: imported once a run has stopped

        if not isinstance(exc, TrainingDivergedError):
            raise
        parser.exit(1, f"physml: training stopped: {one_line(exc)}\n")
    except MemoryError as exc:  # what no check foresaw: say so in one line, not a traceback
        parser.exit(1, f"physml: out of memory: {one_line(exc) or 'an allocation failed'}\n")
    except KeyboardInterrupt:
        resumable = args.command in RESUMABLE and getattr(args, "dataset_command", "build") == "build"
        kept = "; what was written is kept (rerun the command to resume)" if resumable else ""
        parser.exit(130, f"physml: interrupted{kept}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
