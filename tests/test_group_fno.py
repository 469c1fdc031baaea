"""The group-equivariant FNO: its group tables, every layer and the whole model equivariant to round-off under the
square grid's exact actions, a C4 model free to break reflections, bad configs refused, and a tiny run learning."""

from __future__ import annotations

import pytest
import torch

from physml.datasets.symmetry import ORIENTATIONS
from physml.models import GroupFNO, GroupFNOConfig, build_model
from physml.models.group_fno import GroupPointwise, GroupSpectralConv, group_elements

SMALL = {"modes": 3, "width": 2, "n_layers": 2}
ROTATIONS = ("rotate-90", "rotate-180", "rotate-270")


@pytest.mark.parametrize("reflections", [False, True])
def test_the_tables_are_a_group(reflections):
    actions, product, inverse = group_elements(reflections)
    order = len(actions)
    assert order == (8 if reflections else 4)
    x = torch.randn(5, 5)
    for g in range(order):
        assert int(product[g, inverse[g]]) == 0 and int(product[inverse[g], g]) == 0
        for h in range(order):
            assert torch.equal(actions[int(product[g, h])](x), actions[g](actions[h](x)))
    assert all(sorted(row.tolist()) == list(range(order)) for row in product)  # a Latin square


def _regular_action(v: torch.Tensor, g: int, reflections: bool) -> torch.Tensor:
    """g on regular fields ``(B, F·|G|, N, N)``: ``(g·v)[f, h] = A_g v[f, g⁻¹h]``."""
    actions, product, inverse = group_elements(reflections)
    order = len(actions)
    fields = v.view(v.shape[0], -1, order, *v.shape[-2:])
    moved = fields[:, :, product[inverse[g]]]  # h -> v[g⁻¹h]
    return actions[g](moved).flatten(1, 2)


@pytest.mark.parametrize("reflections", [False, True])
def test_every_layer_is_equivariant_on_regular_fields(reflections):
    torch.manual_seed(0)
    order = 8 if reflections else 4
    v = torch.randn(2, 3 * order, 16, 16, dtype=torch.float64)
    for layer in (GroupSpectralConv(3, 2, 4, reflections), GroupPointwise(3, 2, reflections)):
        layer = layer.double()
        out = layer(v)
        for g in range(order):
            turned = layer(_regular_action(v, g, reflections))
            assert torch.allclose(turned, _regular_action(out, g, reflections), atol=1e-12), (type(layer), g)


@pytest.mark.parametrize("group", ["rotations", "rotations+reflections"])
def test_the_model_is_equivariant_to_round_off(group):
    torch.manual_seed(1)
    model = GroupFNO(GroupFNOConfig(3, 2, group=group, **SMALL)).eval()
    x = torch.randn(2, 3, 24, 24)
    names = ROTATIONS if group == "rotations" else [n for n in ORIENTATIONS if n != "identity"]
    with torch.no_grad():
        y = model(x)
        for name in names:
            act = ORIENTATIONS[name]
            error = (model(act(x)) - act(y)).norm() / y.norm()
            assert error < 1e-5, (name, error)
        if group == "rotations":  # a reflection is no symmetry of C4: the model is free to break it
            assert (model(x.flip(-1)) - y.flip(-1)).norm() / y.norm() > 1e-3


def test_the_same_weights_run_on_other_square_grids():
    torch.manual_seed(2)
    model = GroupFNO(GroupFNOConfig(1, 1, **SMALL)).eval()
    with torch.no_grad():
        for n in (16, 32):
            x = torch.randn(1, 1, n, n)
            torch.testing.assert_close(model(x.transpose(-2, -1)), model(x).transpose(-2, -1), atol=1e-5, rtol=1e-5)


def test_a_float64_gradient_check():
    torch.manual_seed(3)
    layer = GroupSpectralConv(1, 1, 2, True).double()
    v = torch.randn(1, 8, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (v,))


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"group": "translations"}, "group = 'translations' is invalid: must be one of rotations"),
        ({"modes": 0}, "modes = 0 is invalid: must be an integer >= 1"),
        ({"field_size": (32, 48)}, r"field_size = \(32, 48\) is invalid: must be a square 2-D grid"),
        ({"field_size": (16, 16), "modes": 8}, "modes = 8 is invalid: a 16² grid holds at most 7"),
    ],
)
def test_bad_configs_name_the_parameter(changes, match):
    with pytest.raises(ValueError, match=match):
        GroupFNOConfig(3, 2, **changes)


def test_a_non_square_input_is_refused():
    model = GroupFNO(GroupFNOConfig(1, 1, **SMALL))
    with pytest.raises(ValueError, match="input grid 16x24 is invalid: a group spectral layer needs a square grid"):
        model(torch.randn(1, 1, 16, 24))


def test_it_trains_on_a_tiny_build_and_round_trips(tiny_packets_2d, tmp_path):
    from conftest import tiny_recipe

    from physml.training import Trainer
    from physml.training.surrogate import load_surrogate

    trainer = Trainer(
        tiny_recipe("group-fno-schrodinger-2d", tiny_packets_2d, **SMALL), tmp_path / "run", progress=False
    )
    before = trainer.evaluate()
    trainer.train()
    assert trainer.evaluate() < before
    loaded = load_surrogate(tmp_path / "run" / "best.pt").model
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), trainer.model.eval()(x))
    assert (
        build_model("group_fno", {"in_channels": 3, "out_channels": 2, **SMALL}).config.group == "rotations+reflections"
    )
