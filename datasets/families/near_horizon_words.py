"""Descriptions of near-horizon trajectories: the perturbation, the hole and the pulse in words.

Physics words: the field's spin names it (s = 0 scalar, 1 electromagnetic,
2 gravitational; for s = 2 the Regge–Wheeler equation is the axial sector and
Zerilli's the polar one); a pulse is narrow when its width is below 2 M
(its spectrum then reaches the l = 2 quasinormal frequency ~0.37 / M and rings
the hole) and broad above 3.5 M; a map's pulse lies near a pole within 0.5 rad
of it, near the equator within 0.4 rad of pi / 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from physml.datasets.captions import article, number, pick, quantity, sentence

__all__ = ["near_horizon_caption"]

SPIN_WORDS = {0: "spin-0 (scalar)", 1: "spin-1 (electromagnetic)", 2: "spin-2 (gravitational)"}
DIRECTION_WORDS = {"ingoing": "ingoing", "outgoing": "outgoing", "time-symmetric": "time-symmetric (initially at rest)"}


def _perturbation(params: Mapping[str, Any]) -> str:
    s = int(params["s"])
    text = f"{SPIN_WORDS[s]} perturbation"
    if s == 2:
        sector = "polar (Zerilli)" if params["equation"] == "zerilli" else "axial (Regge-Wheeler)"
        text = f"{SPIN_WORDS[s]} {sector} perturbation"
    if int(params["ndim"]) == 1:
        return f"{text}, l = {int(params['l'])}"
    return f"{text} summed over multipoles l = {s} to {int(params['l_max'])}"


def _pulse(params: Mapping[str, Any]) -> str:
    ratio = params["width"] / params["mass"]
    size = "narrow " if ratio < 2 else "broad " if ratio > 3.5 else ""
    text = (
        f"{article(size + DIRECTION_WORDS[params['direction']])} Gaussian pulse of amplitude "
        f"{number(params['amplitude'])}, "
        f"width {quantity(params['width'], 'M')}, centred at r* = {quantity(params['center'], 'M')}"
    )
    if int(params["ndim"]) == 2:
        theta = params["theta0"]
        where = (
            "near the north pole"
            if theta < 0.5
            else "near the south pole"
            if theta > math.pi - 0.5
            else "near the equator"
            if abs(theta - math.pi / 2) < 0.4
            else "at mid latitude"
        )
        text += (
            f", {where} (theta0 = {quantity(theta, 'rad')}, {number(math.degrees(theta))} degrees) "
            f"with angular width {number(params['theta_width'])} in cos(theta)"
        )
    return text


def near_horizon_caption(params: Mapping[str, Any], rng: np.random.Generator) -> str:
    """One of several phrasings (drawn with ``rng``) of a 1D (psi(t, r*)) or 2D (field map) trajectory."""
    perturbation, pulse = _perturbation(params), _pulse(params)
    hole = f"a Schwarzschild hole of mass M = {number(params['mass'])}"
    if int(params["ndim"]) == 1:
        templates = (
            "{perturbation}, of {hole}: {pulse}",
            "{pulse} scattering off {hole}; {perturbation}",
            "Scattering of {pulse} off {hole} ({perturbation})",
            "{hole} hit by {pulse}, as a {perturbation}",
            "Master function psi(t, r*) of a {perturbation}, of {hole}, started as {pulse}",
        )
    else:
        templates = (
            "Field map of a {perturbation} of {hole}: {pulse}",
            "{pulse} scattering off {hole}, shown on the meridional plane; {perturbation}",
            "Meridional-plane picture of {hole} hit by {pulse} ({perturbation})",
            "{hole} perturbed by {pulse}; {perturbation}, mapped on the plane through the axis",
        )
    return sentence(pick(rng, templates).format(perturbation=perturbation, pulse=pulse, hole=hole))
