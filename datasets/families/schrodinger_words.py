"""Descriptions of Schrödinger trajectories: the potential, the packet, and physics words chosen from the numbers.

Qualitative words compare a parameter with the scale that makes it large or
small for the physics (``hbar``, ``mass`` and ``sigma`` of the trajectory):

* harmonic trap: the packet against the ground-state width ``sqrt(hbar / (2 m omega))``
  (std of ``|psi|^2``): equal means a coherent state, narrower a squeezed packet;
* double well ``V0 ((x/a)^2 - 1)^2``: ``V0 / (hbar omega_w)`` with ``omega_w = sqrt(8 V0 / (m a^2))``
  the frequency at each minimum, about the number of quanta below the barrier: deep >= 1.2, shallow <= 0.9;
* lattice ``V0 cos^2(pi x / a)``: ``V0`` against the recoil energy ``E_R = (hbar pi / a)^2 / (2 m)``:
  deep (tight-binding) >= 4 E_R, shallow (nearly free) <= E_R;
* barrier of height ``V0`` and width ``w``: tall above the packet's kinetic energy ``p^2 / (2 m)``
  (classically reflecting), low below it; narrow below the reduced de Broglie wavelength
  ``hbar / |p|`` (tunnelling), wide above twice it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from physml.datasets.captions import number, pick, quantity, sentence
from physml.simulators.schrodinger.potentials import POTENTIALS, parameter_docs

__all__ = ["describe_packet", "describe_potential", "potential_values", "schrodinger_caption"]


def potential_values(params: Mapping[str, Any]) -> dict[str, Any]:
    """The potential's parameters, its own defaults filling those not given (e.g. ``omega = 1``)."""
    rows = parameter_docs(POTENTIALS[params["potential_kind"]])
    return {name: default if _missing(params.get(name)) else params[name] for name, _, default, _ in rows}


def describe_potential(params: Mapping[str, Any]) -> str:
    """The potential as a noun phrase, e.g. ``"a tall, narrow Gaussian barrier (height = 2.5 energy units, ...)"``."""
    kind, hbar, m = params["potential_kind"], params["hbar"], params["mass"]
    px = params["px"]
    values = potential_values(params)

    def _q(name: str, unit: str) -> str:
        return f"{name} = {quantity(values[name], unit)}"

    if kind == "free":
        return "free space (V = 0)"
    if kind == "harmonic":
        omega, omega_y = values["omega"], values["omega_y"]
        if int(params["ndim"]) == 2 and not _missing(omega_y) and not math.isclose(omega_y, omega, rel_tol=1e-3):
            words = "an anisotropic harmonic trap"
            numbers = f"{_q('omega', '1/time')} along x, {_q('omega_y', '1/time')} along y"
        else:
            words = "a tight harmonic trap" if omega >= 1.2 else "a loose harmonic trap" if omega <= 0.7 else ""
            words = words or "a harmonic trap"
            numbers = _q("omega", "1/time")
        return f"{words} ({numbers})"
    if kind == "double-well":
        v0, a = values["barrier"], values["separation"]
        quanta = v0 / (hbar * math.sqrt(8 * v0 / (m * a**2)))
        words = "a deep double well" if quanta >= 1.2 else "a shallow double well" if quanta <= 0.9 else "a double well"
        numbers = f"barrier = {quantity(v0, 'energy')}, minima at x = +-{quantity(a, 'length')}"
        return f"{words} ({numbers})"
    if kind == "lattice":
        v0, a = values["depth"], values["period"]
        recoil = (hbar * math.pi / a) ** 2 / (2 * m)
        if v0 >= 4 * recoil:
            words = "a deep lattice (tight-binding regime)"
        elif v0 <= recoil:
            words = "a shallow lattice (nearly free)"
        else:
            words = "a periodic lattice"
        return f"{words} (depth = {quantity(v0, 'energy')}, period = {quantity(a, 'length')})"
    if kind == "soft-coulomb":
        z, eps = values["charge"], values["softening"]
        words = "an attractive soft-Coulomb well" if z > 0 else "a repulsive soft-Coulomb hill"
        return f"{words} (charge = {quantity(z, 'energy*length')}, softening = {quantity(eps, 'length')})"
    # gaussian-barrier or square-barrier: height, width, centre
    v0, w = values["height"], values["width"]
    shape = "Gaussian" if kind == "gaussian-barrier" else "square"
    if v0 < 0:
        words = f"a {shape} well"
    else:
        size = []
        if px != 0:
            kinetic = px**2 / (2 * m)
            size.append("tall" if v0 > kinetic else "low")
            reduced = hbar / abs(px)
            size += ["narrow"] if w < reduced else ["wide"] if w > 2 * reduced else []
        words = f"a {', '.join(size) + ' ' if size else ''}{shape} barrier"
    where = quantity(values["center"], "length")
    numbers = f"height = {quantity(v0, 'energy')}, width = {quantity(w, 'length')}, at x = {where}"
    return f"{words} ({numbers})"


def describe_packet(params: Mapping[str, Any]) -> str:
    """The initial Gaussian packet: its motion and, in an isotropic trap, its width against the ground state."""
    ndim = int(params["ndim"])
    centre = f"x0 = {quantity(params['x0'], 'length')}"
    moment = f"px = {quantity(params['px'], 'momentum')}"
    if ndim == 2:
        centre += f", y0 = {quantity(params['y0'], 'length')}"
        moment += f", py = {quantity(params['py'], 'momentum')}"
    p = np.array([params["px"], params["py"]][:ndim], dtype=float)
    if not np.any(p):
        motion = "at rest"
    elif ndim == 1:
        motion = "moving right" if p[0] > 0 else "moving left"
    else:
        motion = f"moving at {number(math.degrees(math.atan2(p[1], p[0])))} degrees from the x axis"
    width = f"width sigma = {quantity(params['sigma'], 'length')}"
    trap = potential_values(params) if params["potential_kind"] == "harmonic" else {}
    isotropic = ndim == 1 or _missing(trap.get("omega_y")) or math.isclose(trap["omega_y"], trap["omega"], rel_tol=1e-3)
    if trap and isotropic:
        ground = math.sqrt(params["hbar"] / (2 * params["mass"] * trap["omega"]))
        ratio = params["sigma"] / ground
        if abs(ratio - 1) < 0.05:
            width += " (a coherent state of the trap)"
        elif ratio < 1:
            width += " (squeezed: narrower than the trap's ground state)"
        else:
            width += " (wider than the trap's ground state)"
    return f"a Gaussian packet {motion} with {width}, starting at {centre}, {moment}"


def schrodinger_caption(params: Mapping[str, Any], rng: np.random.Generator) -> str:
    """One of several phrasings of a trajectory (drawn with ``rng``)."""
    potential, packet = describe_potential(params), describe_packet(params)
    dims = f"{int(params['ndim'])}D"
    units = ""
    if params["hbar"] != 1 or params["mass"] != 1:
        units = f" (hbar = {quantity(params['hbar'], 'energy*time')}, m = {quantity(params['mass'], 'mass')})"
    templates = (
        "{packet} in {potential}{units}",
        "{dims} Schrödinger evolution in {potential}{units}: {packet}",
        "{potential} in {dims}{units}, probed by {packet}",
        "A {dims} wave packet in {potential}{units}; initially {packet}",
        "Time-dependent Schrödinger equation in {dims}{units}. Potential: {potential}. Initial state: {packet}",
    )
    text = pick(rng, templates).format(potential=potential, packet=packet, dims=dims, units=units)
    return sentence(text)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
