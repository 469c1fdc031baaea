"""The escnn steerable CNN: every layer and the whole model are equivariant under the group's exact grid actions,
its exported plain-torch twin gives the same outputs, it trains, and bad groups and grids are refused."""

from __future__ import annotations

import pytest
import torch

from physml.models import EquivariantCNN, EquivariantCNNConfig, build_model

SMALL = {"width": 2, "n_blocks": 2, "kernel_size": 3}


def _grid_actions(group: str):
    """The group's elements as exact actions on a square grid: 90° rotations, and the reflections for D4."""
    rotations = [lambda x, k=k: x.rot90(k, (-2, -1)) for k in range(1, 4)]
    reflections = [lambda x: x.flip(-1), lambda x: x.flip(-2), lambda x: x.transpose(-2, -1),
                   lambda x: x.rot90(1, (-2, -1)).flip(-1)]  # fmt: skip
    return rotations + (reflections if group == "rotations+reflections" else [])


def _random(config: EquivariantCNNConfig | EquivariantCNN) -> EquivariantCNN:
    """A model with every layer active (the residual branches and the projection start at zero, which would leave
    nothing to test)."""
    model = config if isinstance(config, EquivariantCNN) else EquivariantCNN(config)
    return model.he_init().eval()


def test_the_residual_branches_start_at_zero():
    torch.manual_seed(0)
    model = EquivariantCNN(EquivariantCNNConfig(3, 2, **SMALL)).eval()
    v = model.lift(model.in_type(torch.randn(1, 3, 12, 12)))
    with torch.no_grad():
        assert torch.equal(model.blocks[0](v).tensor, v.tensor)


@pytest.mark.parametrize(("group", "padding"), [("rotations", "circular"), ("rotations+reflections", "circular"),
                                               ("rotations+reflections", "zeros")])  # fmt: skip
def test_the_untrained_model_is_equivariant_to_round_off(group, padding):
    torch.manual_seed(0)
    model = _random(EquivariantCNNConfig(3, 2, group=group, N=4, padding=padding, **SMALL))
    x = torch.randn(2, 3, 24, 24)
    with torch.no_grad():
        y = model(x)
        for act in _grid_actions(group):
            error = (model(act(x)) - act(y)).norm() / y.norm()
            assert error < 1e-5, error
    if group == "rotations":  # a reflection is no symmetry of C4: the model is free to break it
        with torch.no_grad():
            assert (model(x.flip(-1)) - y.flip(-1)).norm() / y.norm() > 1e-3


@pytest.mark.parametrize("group", ["rotations", "rotations+reflections"])
def test_every_layer_is_equivariant_under_the_groups_own_action(group):
    from physml.optional import require_escnn

    enn = require_escnn().nn
    torch.manual_seed(1)
    model = _random(EquivariantCNNConfig(3, 2, group=group, N=4, **SMALL))
    v = enn.GeometricTensor(torch.randn(1, 3, 16, 16), model.in_type)
    layers = [model.lift, *model.blocks, model.project]
    with torch.no_grad():
        for layer in layers:
            out = layer(v)
            for g in model.in_type.gspace.testing_elements:  # all of C4 / D4: exact grid actions
                error = (layer(v.transform(g)).tensor - out.transform(g).tensor).norm() / out.tensor.norm()
                assert error < 1e-5, (type(layer).__name__, g, error)
            v = out


def _vector_action(name: str):
    """A grid action on vector fields ``(B, 2, N, N)`` with components along axes -2 and -1: move the points, turn the
    components by the same map. The matrix is read off the position field p - centre, which every rotation and
    reflection about the centre leaves unchanged."""
    from physml.datasets.symmetry import ORIENTATIONS

    act = ORIENTATIONS[name]
    centre = torch.arange(6.0) - 2.5
    position = torch.stack(torch.meshgrid(centre, centre, indexing="ij")).reshape(2, -1)
    moved = act(position.reshape(2, 6, 6)).reshape(2, -1)
    matrix = torch.linalg.lstsq(moved.T, position.T).solution.T.round()  # matrix @ moved = position
    return lambda v: torch.einsum("ij,bjhw->bihw", matrix.to(v.dtype), act(v))


@pytest.mark.parametrize("group", ["rotations", "rotations+reflections"])
def test_vector_fields_turn_their_components_with_the_grid(group):
    """A field declared a vector (components along the array's axes -2 and -1) turns as a physical vector: under
    every grid action of the group, written out by hand (points moved, components turned), scalars only moved."""
    from physml.datasets.symmetry import ORIENTATIONS

    torch.manual_seed(4)
    config = EquivariantCNNConfig(3, 3, group=group, N=4, in_types=["scalar", "vector"],
                                  out_types=["vector", "scalar"], **SMALL)  # fmt: skip
    model = _random(config)
    x = torch.randn(2, 3, 16, 16)
    names = ["rotate-90", "rotate-180", "rotate-270"]
    names += ["flip-x", "flip-y", "transpose", "antitranspose"] if group != "rotations" else []
    with torch.no_grad():
        y = model(x)
        for name in names:
            scalar, vector = ORIENTATIONS[name], _vector_action(name)
            turned = model(torch.cat([scalar(x[:, :1]), vector(x[:, 1:])], 1))
            expected = torch.cat([vector(y[:, :2]), scalar(y[:, 2:])], 1)
            assert (turned - expected).norm() / y.norm() < 1e-5, name
        torch.testing.assert_close(model.export()(x), y, atol=1e-5, rtol=1e-5)  # the export keeps the order
        swapped = model(torch.cat([x[:, :1], x[:, 2:], x[:, 1:2]], 1))  # the components' order matters
        assert (swapped - y).norm() > 1e-3 * y.norm()


def test_eight_rotations_are_exact_at_90_degrees():
    torch.manual_seed(2)
    model = _random(EquivariantCNNConfig(1, 1, group="rotations", N=8, **SMALL))
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        y = model(x)
        assert (model(x.rot90(1, (-2, -1))) - y.rot90(1, (-2, -1))).norm() / y.norm() < 1e-5


@pytest.mark.parametrize("padding", ["circular", "zeros"])
def test_the_exported_module_gives_the_same_outputs(padding):
    torch.manual_seed(3)
    model = _random(EquivariantCNNConfig(3, 2, padding=padding, **SMALL))
    x = torch.randn(2, 3, 20, 20)
    exported = model.export()
    assert not any("escnn" in type(m).__module__ for m in exported.modules())
    with torch.no_grad():
        torch.testing.assert_close(exported(x), model.eval()(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"group": "translations"},
            "group = 'translations' is invalid: must be one of rotations, rotations\\+reflections",
        ),
        ({"N": 0}, "N = 0 is invalid: must be an integer >= 1"),
        (
            {"field_size": (32, 48)},
            r"field_size = \(32, 48\) is invalid: must be square for a group with 90° rotations",
        ),
        ({"field_size": (32,)}, r"field_size = \(32,\) is invalid: must be a 2-D grid"),
        ({"kernel_size": 4}, "kernel_size = 4 is invalid: must be odd"),
        ({"padding": "reflect"}, "padding = 'reflect' is invalid: must be one of circular, zeros"),
        (
            {"in_types": ["vector", "vector"]},
            r"in_types = \('vector', 'vector'\) is invalid: must be types covering the 3 channels "
            r"\(a vector takes 2\); these cover 4",
        ),
        ({"out_types": ["vector", "vector"]}, "out_types = .* covering the 2 channels .* these cover 4"),
        ({"in_types": ["scalar", "pseudoscalar", "scalar"]}, "in_types = .* must be a list of scalar / vector"),
    ],
)
def test_bad_groups_and_grids_name_the_parameter(changes, match):
    with pytest.raises(ValueError, match=match):
        EquivariantCNNConfig(**{"in_channels": 3, "out_channels": 2, **changes})


def test_a_half_turn_group_takes_a_rectangular_grid():
    model = _random(
        build_model("equivariant_cnn", {"in_channels": 1, "out_channels": 1, "N": 2, "field_size": [16, 24], **SMALL})
    )
    x = torch.randn(1, 1, 16, 24)
    with torch.no_grad():
        y = model.eval()(x)
        assert (model(x.rot90(2, (-2, -1))) - y.rot90(2, (-2, -1))).norm() / y.norm() < 1e-5


def test_the_recipe_learns_on_a_tiny_build(tiny_packets_2d, tmp_path):
    from conftest import tiny_recipe

    from physml.training import Trainer

    trainer = Trainer(
        tiny_recipe("equivariant-schrodinger-2d", tiny_packets_2d, **SMALL), tmp_path / "run", progress=False
    )
    before = trainer.evaluate()
    trainer.train()
    assert trainer.evaluate() < before
    from physml.training.surrogate import load_surrogate

    loaded = load_surrogate(tmp_path / "run" / "best.pt").model.eval()  # the checkpoint round-trips
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), trainer.model.eval()(x), atol=1e-5, rtol=1e-5)
