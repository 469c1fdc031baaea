"""Scoring a waveform forecast (``waveform_forecast.py``): the autoregressive forecast of the ``HORIZON`` samples after
``LONGEST``, its nRMSE per channel over the first 20 M, 40 M and 102 M, the one-step error, and the baselines."""

from __future__ import annotations

import time

import torch
from _shell_streams import HORIZON, LONGEST, N_SAMPLES, PATCH


def forecast(model: torch.nn.Module, series: torch.Tensor, context: int) -> torch.Tensor:
    """``(B, 3, HORIZON)``: the autoregressive forecast from the ``context`` samples before ``LONGEST``.

    A model that attends re-reads a window of ``context`` samples that slides by one patch per prediction: its
    positions stay those it was trained on (its key/value cache would carry them past). A scan reads the context
    once (``step``) and carries its state: its predictions read the context and all it has
    predicted since.
    """
    window, predicted = series[..., LONGEST - context : LONGEST], []
    if not model.config.attends:
        out, state = model.step(window)  # the context at once, then one patch at a time
        nxt = out[..., -PATCH:]
        predicted.append(nxt)
        while len(predicted) < HORIZON // PATCH:
            nxt, state = model.step(nxt, state)
            predicted.append(nxt)
        return torch.cat(predicted, dim=-1)
    for _ in range(HORIZON // PATCH):
        nxt = model(window)[..., -PATCH:]
        predicted.append(nxt)
        window = torch.cat([window[..., PATCH:], nxt], dim=-1)
    return torch.cat(predicted, dim=-1)


def nrmse(pred: torch.Tensor, true: torch.Tensor, samples: int | None = None) -> list[float]:
    """Per channel: the rms of ``pred - true`` over the first ``samples`` (default all) of the last axis, over the
    rms of ``true`` over all of it (a shell may not have reached a radius early on), pooled over the series (so that
    a series whose wave barely reaches a radius does not dominate that radius's error)."""
    error = (pred - true)[..., :samples].square().mean(dim=(0, 2))
    return (error / true.square().mean(dim=(0, 2))).sqrt().tolist()


#: Forecast windows scored (samples): the first 20 M, the ringing (40 M), the whole forecast (102 M).
WINDOWS = {"20M": 100, "40M": 200, "102M": HORIZON}


def score(model: torch.nn.Module, test: torch.Tensor, context: int) -> dict:
    start = time.perf_counter()
    pred = forecast(model, test, context)
    seconds = time.perf_counter() - start
    n = HORIZON - PATCH  # one step, teacher-forced, over the forecast's samples after its first patch
    teacher = model(test[..., N_SAMPLES - context :])[..., -PATCH - n : -PATCH]
    return {**errors(pred, test[..., LONGEST:]), "one_step": nrmse(teacher, test[..., N_SAMPLES - n :]),
            "forecast_s": seconds}  # fmt: skip


def errors(pred: torch.Tensor, true: torch.Tensor) -> dict[str, list[float]]:
    return {f"forecast_{name}": nrmse(pred, true, n) for name, n in WINDOWS.items()}


def baselines(test: torch.Tensor) -> dict:
    true = test[..., LONGEST:]
    held = test[..., LONGEST - 1 : LONGEST].expand_as(true)
    return {"persistence": errors(held, true), "zero": errors(torch.zeros_like(true), true)}
