"""The families ``physml simulate`` runs, one module each: options, the parameters they set, a summary line.

Each module defines ``TARGET``, a :class:`Target`. The simulate command
(:mod:`physml.cli.simulate`) adds its options, turns parsed arguments into the
family's parameters and saved times, runs them through the dataset family
(:func:`physml.datasets.simulate_to_file`) and prints the summary. These modules
import nothing beyond the standard library at the top, so ``physml --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Target"]


@dataclass(frozen=True)
class Target:
    """One family as ``physml simulate COMMAND``.

    Attributes
    ----------
    family
        The dataset family it runs (``physml.datasets.get_family`` name).
    help, description, epilog
        Its help texts; ``epilog`` may be a function, called only when the help is shown.
    add_arguments
        Adds the family's options to its parser (the output options are common).
    configure
        Parsed arguments -> ``(parameters, t_final, n_saves)`` of the run.
    summary
        A :class:`~physml.datasets.SimulatedRun` -> one line about the run.
    out_required
        Whether ``--out`` must be given (else ``--out`` and/or ``--plot``).
    """

    family: str
    help: str
    description: str
    epilog: str | Callable[[], str]
    add_arguments: Callable[[argparse.ArgumentParser], None]
    configure: Callable[[argparse.Namespace], tuple[dict[str, Any], float, int]]
    summary: Callable[[Any], str]
    out_required: bool = True
