"""The data of ``waveform_forecast.py``: streams of shells falling into a Schwarzschild hole, seen at three radii.

One series per hole (mass in [0.8, 1.5], field and multipole as in ``near-horizon-1d``: s = 0, 1, 2,
Regge-Wheeler or Zerilli). Gaussian shells (widths 1.5-4 M, amplitudes ±0.5-1.5) pass an observer at r* = 100 M
every 100-500 M and scatter off the barrier. The series is ψ at r* = -20 M (near the horizon), 10 M (the
barrier) and 100 M (far), every ``DT`` = 0.2 M: ``LONGEST + HORIZON`` samples from the double-null integrator,
run once on the whole train of shells (``pulse_train``; h = 0.2 M, or 0.1 M where the barrier needs it). The
last shell hits the barrier 0-10 M before sample ``LONGEST`` and none follows it.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import torch

RADII = (-20.0, 10.0, 100.0)  # r* of the three channels (M)
DT = 0.2  # sample spacing (M)
LONGEST = 16384  # the longest context; the forecast starts here
HORIZON = 512  # samples forecast
PATCH = 16  # samples per token: the models read and forecast the series patch by patch
N_SAMPLES = LONGEST + HORIZON
EQUATIONS = [(0, 0, "regge-wheeler"), (0, 1, "regge-wheeler"), (0, 2, "regge-wheeler"), (1, 1, "regge-wheeler"),
             (1, 2, "regge-wheeler"), (2, 2, "regge-wheeler"), (2, 3, "regge-wheeler"), (2, 2, "zerilli"),
             (2, 3, "zerilli")]  # fmt: skip
SPLITS = {"train": 0, "val": 100_000, "test": 200_000}  # seed offsets of the series of each split


def series(seed: int) -> tuple[np.ndarray, dict]:
    """One hole's ``(3, N_SAMPLES)`` waveforms (float64) and its parameters."""
    from physml.datasets.families.near_horizon_null import aligned_pulse, null_waveforms, snap_to_diagonals
    from physml.simulators.near_horizon import Perturbation, check_resolution, evolve, gaussian_pulse, pulse_train

    rng = np.random.default_rng(seed)
    s, ell, equation = EQUATIONS[rng.integers(len(EQUATIONS))]
    perturbation = Perturbation(s=s, l=ell, mass=float(rng.uniform(0.8, 1.5)), equation=equation)
    # Times the shells' centres pass r* = 100 M: the last hits the barrier (r* = 10 M, 90 M later) 0-10 M before the
    # forecast starts, the earlier ones 100-500 M apart.
    arrivals = [LONGEST * DT - 90.0 - rng.uniform(0.0, 10.0)]
    while arrivals[-1] - 100.0 > 20.0:
        arrivals.append(arrivals[-1] - rng.uniform(100.0, 500.0))
    arrivals = [a for a in arrivals if a >= 20.0]
    shells = [gaussian_pulse(center=RADII[-1] + a, width=rng.uniform(1.5, 4.0),
                             amplitude=rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.5)) for a in arrivals]  # fmt: skip
    h = 0.2
    try:
        check_resolution(perturbation, h)
    except ValueError:
        h = 0.1
    train = aligned_pulse(pulse_train(shells), h)
    times = DT * np.arange(N_SAMPLES)
    run = evolve(perturbation, train, t_final=times[-1] + 4 * h, extract_at=snap_to_diagonals(RADII, h),
                 scheme="double-null", h=h)  # fmt: skip
    params = {"seed": seed, "s": s, "l": ell, "equation": equation, "mass": perturbation.mass, "h": h,
              "arrivals": sorted(arrivals)}  # fmt: skip
    return null_waveforms(run.t, run.waveforms, times), params


def build(path: Path, counts: dict[str, int], jobs: int) -> None:
    """Write the series of every split to ``path`` (HDF5: ``split/psi`` of shape (n, 3, N_SAMPLES), float32, and
    the parameters as JSON in ``split/params``); atomic: written to a temporary file, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.h5")
    with ProcessPoolExecutor(jobs) as pool, h5py.File(partial, "w") as f:
        f.attrs.update({"dt": DT, "r_star": RADII, "longest_context": LONGEST, "horizon": HORIZON})
        for split, n in counts.items():
            start = time.perf_counter()
            made = list(pool.map(series, range(SPLITS[split], SPLITS[split] + n)))
            f.create_dataset(f"{split}/psi", data=np.stack([m[0] for m in made]).astype(np.float32))
            f[split].attrs["params"] = json.dumps([m[1] for m in made])
            print(f"{split}: {n} series in {time.perf_counter() - start:.0f} s", flush=True)
    partial.rename(path)


def load(path: Path, split: str) -> torch.Tensor:
    with h5py.File(path, "r") as f:
        return torch.from_numpy(f[f"{split}/psi"][...])
