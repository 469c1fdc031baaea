"""The square grid's symmetries (physml.datasets.symmetry): a group of exact grid maps that commutes with the
Schrödinger Hamiltonian, a sample transform, and scoring a model on a turned test split."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from physml.datasets.symmetry import ORIENTATIONS, Orient, check_square, orient


def test_the_eight_orientations_are_the_dihedral_group_of_the_square():
    x = torch.arange(36.0).reshape(6, 6)
    images = {name: act(x) for name, act in ORIENTATIONS.items()}
    assert len({tuple(v.flatten().tolist()) for v in images.values()}) == 8  # eight distinct maps
    for act in ORIENTATIONS.values():  # each a permutation of the points
        assert torch.equal(act(x).flatten().sort().values, x.flatten())
    for a, b in itertools.product(ORIENTATIONS.values(), repeat=2):  # closed under composition
        assert any(torch.equal(a(b(x)), image) for image in images.values())


def test_every_orientation_commutes_with_the_schrodinger_hamiltonian():
    """H[g psi; g V] = g H[psi; V] to round-off on a periodic grid of equal spacings: a turned state with its potential
    turned alike evolves into the turned evolution (the grid maps are the box's rotations and reflections up to a
    shift by at most one cell, and the kinetic term depends on |k| only)."""
    from physml.simulators.grid import Grid
    from physml.simulators.schrodinger.eigen import apply_hamiltonian
    from physml.simulators.schrodinger.system import SchrodingerSystem

    grid = Grid(n=(24, 24), length=(8.0, 8.0))
    x, y = np.meshgrid(*grid.axes, indexing="ij")
    v = 0.3 * x**2 + 1.7 * y**2 + 0.8 * x * y + np.exp(-((x - 1.5) ** 2) - (y + 0.5) ** 2)  # no symmetry of its own
    psi = np.exp(-((x - 0.7) ** 2) / 1.3 - (y + 0.4) ** 2 / 0.6 + 1j * (0.9 * x - 0.4 * y))
    h_psi = torch.from_numpy(apply_hamiltonian(SchrodingerSystem(grid, v), psi))
    turned_v = {name: orient(torch.from_numpy(v), name).numpy() for name in ORIENTATIONS}
    for name in ORIENTATIONS:
        system = SchrodingerSystem(grid, np.ascontiguousarray(turned_v[name]))
        turned = apply_hamiltonian(system, np.ascontiguousarray(orient(torch.from_numpy(psi), name).numpy()))
        expected = orient(h_psi, name).numpy()
        assert np.abs(turned - expected).max() < 1e-12 * np.abs(expected).max(), name
    assert np.abs(turned_v["rotate-90"] - v).max() > 1.0  # (the potential does change: the test is not idle)


def test_orient_turns_every_field_of_a_sample_and_nothing_else():
    sample = {
        "input_fields": torch.randn(1, 3, 4, 4),
        "output_fields": torch.randn(2, 3, 4, 4),
        "constant_fields": torch.randn(1, 4, 4),
        "input_time": torch.tensor([0.0]),
        "parameters": {"omega": torch.tensor(1.0)},
    }
    turned = Orient("transpose")(sample)
    for key in ("input_fields", "output_fields", "constant_fields"):
        assert torch.equal(turned[key], sample[key].transpose(-2, -1))
    assert turned["input_time"] is sample["input_time"] and turned["parameters"] is sample["parameters"]


@pytest.mark.parametrize(
    ("axes", "orientation", "match"),
    [
        ({"x": np.arange(8.0), "y": np.arange(8.0)}, "turn-45", "orientation = 'turn-45' is invalid: must be one of"),
        ({"x": np.arange(8.0), "y": np.arange(6.0)}, "rotate-90", "needs a square grid: x has 8 points 1 apart"),
        ({"x": np.arange(8.0), "y": 0.5 * np.arange(8.0)}, "transpose", "y has 8 points 0.5 apart"),
        ({"x": np.arange(8.0)}, "flip-x", "needs a 2-D grid; the data has 1 spatial axes"),
    ],
)
def test_orientations_a_grid_cannot_hold_are_refused(axes, orientation, match):
    with pytest.raises(ValueError, match=match):
        check_square(axes, orientation)


def test_reflections_along_the_axes_need_no_square_grid():
    for orientation in ("identity", "flip-x", "flip-y", "rotate-180"):
        check_square({"x": np.arange(8.0), "y": 0.5 * np.arange(6.0)}, orientation)


def test_the_cli_offers_exactly_the_orientations():
    from physml.cli.evaluate import ORIENTATION_NAMES

    assert tuple(ORIENTATIONS) == ORIENTATION_NAMES


def test_an_equivariant_model_scores_the_same_on_every_turned_test_split(tiny_packets_2d, tmp_path):
    """The pipeline end to end: windows, normalisation, residual format and rollouts all turn with the data, so
    a D4-equivariant model's errors are the same in every orientation, and a plain ResNet's are not."""
    import dataclasses

    from physml.training import Trainer, load_train_config
    from physml.training.evaluate import evaluate_checkpoints

    config = load_train_config("equivariant-schrodinger-2d")
    small = {"width": 2, "n_blocks": 1, "kernel_size": 3}
    config = dataclasses.replace(
        config,
        data=dataclasses.replace(config.data, path=str(tiny_packets_2d), batch_size=4),
        model=dataclasses.replace(config.model, params={**config.model.params, **small}),
        optim=dataclasses.replace(config.optim, warmup_steps=2, lr=0.01),
        epochs=2,
    )
    plain = dataclasses.replace(
        config, model=dataclasses.replace(config.model, name="resnet", params={"ndim": 2, "width": 4, **small})
    )
    checkpoints = {}
    for name, run in {"equivariant": config, "plain": plain}.items():
        Trainer(run, tmp_path / name, progress=False).train()
        checkpoints[name] = tmp_path / name / "best.pt"
    scores = {
        o: evaluate_checkpoints(checkpoints, tiny_packets_2d, split="test", rollout=3, orientation=o)["models"]
        for o in ("identity", "rotate-90", "antitranspose")
    }
    for o in ("rotate-90", "antitranspose"):
        for score in ("one_step", "rollout"):
            key = "nrmse" if score == "one_step" else "nrmse_final"
            same = scores["identity"]["equivariant"][score][key]
            assert scores[o]["equivariant"][score][key] == pytest.approx(same, rel=1e-6)
        changed = scores[o]["plain"]["one_step"]["nrmse"] / scores["identity"]["plain"]["one_step"]["nrmse"]
        assert abs(changed - 1) > 1e-4  # (2 epochs from a near-persistence start: 4e-4 here)
    with pytest.raises(ValueError, match="orientation = 'sideways' is invalid"):
        evaluate_checkpoints(checkpoints, tiny_packets_2d, split="test", orientation="sideways")


def test_the_near_horizon_maps_hold_the_two_reflections_and_not_the_quarter_turns():
    """What equivariant-near-horizon-maps builds in (D2): a map of an axisymmetric field cut along its axis z is even
    in x, and the pulse at pi - theta0 gives the map reflected in z (to round-off: Y_l0(pi - theta) = (-1)^l Y_l0).
    A quarter turn would carry the axis to x: the turned map is no longer even in x, so no set-up gives it."""
    from physml.datasets.families.registry import get_family

    family = get_family("near_horizon")
    times = np.linspace(0.0, 16.0, 5)
    base = {"ndim": 2, "h": 0.15, "extent": 20.0, "pixels": 16, "l_max": 2, "mass": 1.0, "s": 0,
            "direction": "ingoing", "theta_width": 0.4, "width": 2.0, "center": 12.0}  # fmt: skip
    maps = [
        torch.from_numpy(family.simulate(family.resolve({**base, "theta0": theta}, times), times).fields["phi"])
        for theta in (0.9, np.pi - 0.9)
    ]
    scale = float(maps[0].abs().max())
    assert float((maps[1] - orient(maps[0], "flip-y")).abs().max()) < 1e-12 * scale  # (x, z): flip-y reflects z
    assert float((maps[0] - orient(maps[0], "flip-x")).abs().max()) < 1e-12 * scale
    assert float((maps[1] - maps[0]).abs().max()) > 0.1 * scale  # (the reflected pulse is another trajectory)
    turned = orient(maps[0], "rotate-90")
    assert float((turned - orient(turned, "flip-x")).abs().max()) > 0.1 * scale
