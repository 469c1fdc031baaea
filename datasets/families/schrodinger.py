"""The ``schrodinger`` family: wave packets or eigenstates evolving in a potential, 1D or 2D, periodic box.

Optionally under a uniform drive ``E0 x sin(Omega t + phi)`` (the stored potential is then ``V(x, t)``
at every saved time) and with a complex absorbing layer at the box edges; both are shared by every
trajectory of a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from physml.datasets.families.base import Check, Family, FieldSpec, Layout, ParameterSpec, Trajectory, integer_parameter
from physml.datasets.families.schrodinger_checks import EDGE_BAND, TAIL_BAND, verify
from physml.datasets.families.schrodinger_words import schrodinger_caption
from physml.datasets.raster import check_size, column_points, fill_below, scale_to_unit
from physml.simulators.grid import Grid
from physml.simulators.rollout import steps_per_save
from physml.simulators.schrodinger import (
    POTENTIALS,
    SCHEMES,
    AbsorbingLayer,
    Driven,
    SchrodingerSystem,
    eigenstates,
    gaussian_packet,
    simulate,
    superpose,
)
from physml.simulators.schrodinger.eigen import GUARD_STATES
from physml.simulators.schrodinger.potentials import parameter_docs

__all__ = ["SchrodingerFamily"]

#: Energies an image of the potential covers (energy units): fixed, so pictures of different
#: trajectories compare in magnitude; V outside is clipped (the walls of a trap far from the packet).
IMAGE_ENERGY_RANGE = (-4.0, 8.0)


def _potential_parameters() -> dict[str, ParameterSpec]:
    specs: dict[str, ParameterSpec] = {}
    owners: dict[str, list[str]] = {}
    for kind, cls in POTENTIALS.items():
        for name, unit, _default, text in parameter_docs(cls):
            owners.setdefault(name, []).append(kind)
            specs.setdefault(name, ParameterSpec(name, unit, text))
    return {
        name: ParameterSpec(name, spec.unit, f"{spec.help} (potentials: {', '.join(owners[name])})")
        for name, spec in specs.items()
    }


_POTENTIAL_PARAMETER_NAMES = list(_potential_parameters())


class SchrodingerFamily(Family):
    """Time-dependent Schrödinger equation; fields ``psi`` (complex) and the potential (static unless driven)."""

    name = "schrodinger"
    dataset_name = "schrodinger"
    description = "wave packets or eigenstates in 1D/2D potentials (split-operator, periodic box, float64)"
    parameters: ClassVar[dict[str, ParameterSpec]] = {
        "ndim": ParameterSpec("ndim", "1", "number of spatial dimensions (1 or 2)", 1, shared=True),
        "n": ParameterSpec("n", "1", "grid points per axis (int, or one per axis)", 256, shared=True, sequence=True),
        "length": ParameterSpec(
            "length", "length", "box length per axis (float, or one per axis)", 40.0, shared=True, sequence=True
        ),
        "dt": ParameterSpec("dt", "time", "time step; must divide the save interval", 0.005, shared=True),
        "scheme": ParameterSpec("scheme", "1", "splitting scheme", "strang", tuple(SCHEMES), shared=True),
        "absorber_width": ParameterSpec(
            "absorber_width", "length", "complex absorbing layer width at each box edge (0: none)", 0.0, shared=True
        ),
        "absorber_strength": ParameterSpec(
            "absorber_strength", "energy", "peak absorption rate W0 of the layer", 4.0, shared=True
        ),
        "drive_field": ParameterSpec(
            "drive_field",
            "energy/length",
            "drive amplitude E0 in V + E0 x sin(Omega t + phi) (0: none)",
            0.0,
            shared=True,
        ),
        "drive_frequency": ParameterSpec(
            "drive_frequency", "1/time", "drive angular frequency Omega", 1.0, shared=True
        ),
        "drive_phase": ParameterSpec("drive_phase", "rad", "drive phase phi", 0.0, shared=True),
        "initial": ParameterSpec(
            "initial",
            "1",
            "initial state: a Gaussian packet (x0, y0, px, py, sigma) or eigenstates of the static V",
            "packet",
            ("packet", "eigenstate"),
        ),
        "eigenstates": ParameterSpec(
            "eigenstates",
            "1",
            "with initial = eigenstate: equal superposition of these levels (list)",
            [0],
            shared=True,
            sequence=True,
        ),
        "hbar": ParameterSpec("hbar", "energy*time", "reduced Planck constant", 1.0),
        "mass": ParameterSpec("mass", "mass", "particle mass", 1.0),
        "potential_kind": ParameterSpec("potential_kind", "1", "kind of potential", "free", tuple(POTENTIALS)),
        **_potential_parameters(),
        "x0": ParameterSpec("x0", "length", "packet centre along x", 0.0),
        "y0": ParameterSpec("y0", "length", "packet centre along y (2D)", 0.0),
        "px": ParameterSpec("px", "momentum", "packet mean momentum along x", 0.0),
        "py": ParameterSpec("py", "momentum", "packet mean momentum along y (2D)", 0.0),
        "sigma": ParameterSpec("sigma", "length", "packet width (standard deviation of |psi|^2)", 1.0),
        "sigma_y": ParameterSpec("sigma_y", "length", "packet width along y (2D; default: sigma)", None),
    }
    checks: ClassVar[dict[str, Check]] = {
        "norm_drift": Check(
            "norm_drift", 1e-9, "max_t |N(t)/N(0) - 1|: unitarity of the propagator (0 with an absorbing layer)"
        ),
        "energy_drift": Check(
            "energy_drift",
            1e-3,
            "max_t |E(t) - E(0)| / max(|E(0)|, hbar^2/(8 m sigma^2)): time-step error (0 under a drive or with an "
            "absorbing layer, where E is not conserved)",
        ),
        "edge_probability": Check(
            "edge_probability",
            1e-4,
            f"max_t probability within {EDGE_BAND:.0%} of the box edges: box too small "
            "(0 when V is periodic with the box, where crossing the edge is physical)",
        ),
        "spectral_tail": Check(
            "spectral_tail", 1e-6, f"max_t fraction of |psi_hat|^2 above {TAIL_BAND:.2f} k_Nyquist: grid too coarse"
        ),
    }

    # -- parameters ----------------------------------------------------------
    def check(self, params: dict[str, Any], times: np.ndarray | None = None) -> dict[str, Any]:
        ndim = params["ndim"]
        if ndim not in (1, 2):
            raise ValueError(f"ndim = {ndim!r} is invalid: must be 1 or 2")
        grid = self.grid(params)  # validates n and length
        kind = params["potential_kind"]
        own = {row[0] for row in parameter_docs(POTENTIALS[kind])}
        foreign = sorted(
            name for name in self.potential_parameter_names() if name not in own and not self.is_missing(params[name])
        )
        if foreign:
            raise ValueError(
                f"parameters {foreign} do not apply to potential {kind!r} (its parameters: {sorted(own) or 'none'})"
            )
        potential = self.potential(params)  # validates the potential's own parameters, fills their defaults
        if kind == "lattice":
            for axis, size in enumerate(grid.length):
                cells = size / potential.period
                if abs(cells - round(cells)) > 1e-9 * cells:
                    raise ValueError(
                        f"period = {potential.period!r} is invalid: it must divide the box length {size} "
                        f"(axis {axis}) so that the lattice is periodic with the box"
                    )
        self.system(params)  # validates hbar, mass, V, the drive and the absorbing layer
        if params["initial"] == "packet":
            self.initial_state(params)  # the packet must fit in the box and be resolved by the grid
        levels = params["eigenstates"]
        levels = list(levels) if isinstance(levels, list | tuple) else [levels]
        params["eigenstates"] = [integer_parameter("eigenstates", level, 0) for level in levels]
        if not levels:
            raise ValueError("eigenstates = [] is invalid: give one level or more, e.g. [0, 1]")
        if params["initial"] == "eigenstate" and max(params["eigenstates"]) + 1 + GUARD_STATES > grid.size:
            raise ValueError(
                f"eigenstates = {params['eigenstates']!r} is invalid with n = {params['n']!r}: the grid holds "
                f"{grid.size} states, so levels up to {grid.size - GUARD_STATES - 1} can be found on it"
            )
        if params["scheme"] not in SCHEMES:
            raise ValueError(f"scheme = {params['scheme']!r} is invalid: choose one of {', '.join(SCHEMES)}")
        if times is not None:
            steps_per_save(dt=params["dt"], t_final=float(times[-1] - times[0]), n_saves=len(times) - 1)
        return params

    def initial_state(self, params: Mapping[str, Any]) -> np.ndarray:
        """``psi(t=0)`` of a trajectory: the Gaussian packet, or the equal superposition of the eigenstates
        ``params["eigenstates"]`` of the static potential (imaginary time; no drive, no absorber)."""
        grid = self.grid(params)
        if params["initial"] == "eigenstate":
            levels = sorted(set(params["eigenstates"]))
            static = SchrodingerSystem(grid, self.potential(params), hbar=params["hbar"], mass=params["mass"])
            found = eigenstates(static, levels[-1] + 1)
            return superpose(grid, [found.states[i] for i in levels], np.ones(len(levels)))
        sigma_y = params["sigma"] if self.is_missing(params["sigma_y"]) else params["sigma_y"]
        return gaussian_packet(
            grid,
            center=[params["x0"], params["y0"]][: grid.ndim],
            momentum=[params["px"], params["py"]][: grid.ndim],
            width=[params["sigma"], sigma_y][: grid.ndim],
            hbar=params["hbar"],
        )

    @classmethod
    def potential_parameter_names(cls) -> list[str]:
        return _POTENTIAL_PARAMETER_NAMES

    @staticmethod
    def grid(params: Mapping[str, Any]) -> Grid:
        ndim = int(params["ndim"])
        n, length = params["n"], params["length"]
        n = tuple(n) if isinstance(n, list | tuple) else (n,) * ndim
        length = tuple(length) if isinstance(length, list | tuple) else (length,) * ndim
        if len(n) != ndim or len(length) != ndim:
            raise ValueError(f"n = {params['n']!r}, length = {params['length']!r} are invalid for ndim = {ndim}")
        return Grid(n=n, length=length)

    @staticmethod
    def potential(params: Mapping[str, Any]):
        cls = POTENTIALS[params["potential_kind"]]
        kwargs = {name: params[name] for name, *_ in parameter_docs(cls) if not Family.is_missing(params.get(name))}
        return cls(**kwargs)

    @staticmethod
    def absorber(params: Mapping[str, Any]) -> AbsorbingLayer | None:
        """The absorbing layer, or ``None`` when ``absorber_width`` is 0."""
        if params["absorber_width"] == 0:
            return None
        return AbsorbingLayer(params["absorber_width"], params["absorber_strength"])

    @staticmethod
    def driven(params: Mapping[str, Any], potential):
        """``potential`` under the drive, or itself when ``drive_field`` is 0."""
        if params["drive_field"] == 0:
            return potential
        return Driven(potential, params["drive_field"], params["drive_frequency"], params["drive_phase"])

    def system(self, params: Mapping[str, Any]) -> SchrodingerSystem:
        """The system a trajectory evolves under: potential (driven), constants, absorbing layer."""
        potential = self.driven(params, self.potential(params))
        return SchrodingerSystem(
            self.grid(params), potential, hbar=params["hbar"], mass=params["mass"], absorber=self.absorber(params)
        )

    # -- layout and simulation -----------------------------------------------
    def layout(self, params: Mapping[str, Any], times: np.ndarray) -> Layout:
        grid = self.grid(params)
        axes = dict(zip("xy", grid.axes))
        scalars = ["norm", "energy", *(f"{a}_mean" for a in axes), *(f"p{a}_mean" for a in axes)]
        if grid.ndim == 2:
            scalars.append("r2_mean")
        scalars.append("transmitted")
        return Layout(
            axes=axes,
            fields=(
                FieldSpec("psi", "length^(-ndim/2)", "wave function", complex=True),
                FieldSpec(
                    "potential",
                    "energy",
                    "potential energy V(x)" + (", V(x, t) under the drive" if params["drive_field"] else ""),
                    time_varying=params["drive_field"] != 0,
                ),
            ),
            scalars=tuple(scalars),
        )

    def simulate(self, params: Mapping[str, Any], times: np.ndarray, *, progress: bool = False) -> Trajectory:
        system = self.system(params)
        psi0 = self.initial_state(params)
        # One FFT thread and ESTIMATE plans: bit-identical fields in any worker process.
        run = simulate(
            system,
            psi0,
            dt=params["dt"],
            t_final=float(times[-1] - times[0]),
            n_saves=len(times) - 1,
            scheme=params["scheme"],
            t0=float(times[0]),
            fft_threads=1,
            fft_measure=False,
            progress=progress,
        )
        layout = self.layout(params, times)
        if system.potential.time_dependent:  # (n_t, *space)
            potential = np.stack([system.potential_at(float(t)) for t in times])
        else:
            potential = system.potential_at(float(times[0]))
        scalars = {name: run.observables.get(name, np.full(len(times), np.nan)) for name in layout.scalars}
        return Trajectory(
            fields={"psi": run.psi, "potential": potential},
            scalars=scalars,
            verification=verify(system, run.psi, scalars, params, box_periodic=self.box_periodic(params)),
        )

    # -- text and images ---------------------------------------------------------
    def caption(self, params: Mapping[str, Any], *, rng: np.random.Generator) -> str:
        """The potential and the packet in words (see :mod:`~physml.datasets.families.schrodinger_words`)."""
        return schrodinger_caption(params, rng)

    def image_channels(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        return ("potential",)

    def render(self, params: Mapping[str, Any], *, size: tuple[int, int]) -> np.ndarray:
        """The potential ``V`` on :data:`IMAGE_ENERGY_RANGE`, one channel.

        1D: the area under ``V(x)``, columns spanning the box ``[-L/2, L/2)`` (column
        ``j`` covers ``[-L/2 + j L/W, -L/2 + (j+1) L/W)``), rows the energy range upwards.
        2D: ``V(x, y)`` as grey levels (0 at the range's low end, 1 at its high end), columns
        along x and rows along y over the box. ``V`` is the family's grid values,
        interpolated linearly (periodically) to the pixels.
        """
        height, width = check_size(size)
        grid = self.grid(params)
        values = self.potential(params)(grid, 0.0, mass=params["mass"])
        low, high = IMAGE_ENERGY_RANGE
        if grid.ndim == 1:
            x = column_points(-grid.length[0] / 2, grid.length[0] / 2, width)
            curve = np.interp(x, grid.axes[0], values, period=grid.length[0])
            return fill_below(curve, low=low, high=high, height=height)[None]
        (lx, ly), (ax, ay) = grid.length, grid.axes
        x, y = column_points(-lx / 2, lx / 2, width, 1)[:, 0], column_points(-ly / 2, ly / 2, height, 1)[:, 0]
        # Separable linear interpolation: along x for every stored y, then along y. (nx, ny) -> (W, ny) -> (H, W)
        along_x = np.stack([np.interp(x, ax, values[:, k], period=lx) for k in range(len(ay))], axis=1)
        image = np.stack([np.interp(y, ay, along_x[j], period=ly) for j in range(width)], axis=1)
        return scale_to_unit(image, low, high)[None]

    @staticmethod
    def box_periodic(params: Mapping[str, Any]) -> bool:
        """Whether ``V`` is periodic with the box (free particle, commensurate lattice): wrapping is then physical."""
        return params["potential_kind"] in ("free", "lattice")
