"""Saves checkpoints in a loop until killed: ``python checkpoint_saver.py PATH FIRST``.

Save ``i`` (``i = FIRST, FIRST + 1, ...``) holds a model whose every weight is ``i``, and ``counter=i``
in its extras; the line ``i`` is printed once the save has returned. Used by the kill test.
"""

from __future__ import annotations

import itertools
import sys

import torch

from physml.models import build_model, save_checkpoint

#: ~140k weights, a 0.5 MB checkpoint: a save lasts a few milliseconds, long enough for kills to land inside.
CONFIG = {"in_channels": 2, "out_channels": 2, "modes": [16], "width": 32, "n_layers": 4}


def main(path: str, first: int) -> None:
    model = build_model("fno", CONFIG)
    for i in itertools.count(first):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.fill_(float(i))
        save_checkpoint(path, model, counter=i)
        print(i, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
