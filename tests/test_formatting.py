"""Sample -> model tensors: channel layout, persistence through the format, autoregressive rollouts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from physml.models import PersistenceConfig, build_model
from physml.models.formatting import FieldFormat


def test_channels_are_steps_then_constants():
    fmt = FieldFormat(n_input=3, n_channels=2, n_constant=1)
    fields = torch.arange(3 * 2, dtype=torch.float32).view(1, 3, 2, 1).expand(4, 3, 2, 16)
    constant = torch.full((4, 1, 16), 9.0)
    x = fmt.inputs(fields, constant)
    assert x.shape == (4, 7, 16) and fmt.in_channels == 7
    assert x[0, :, 0].tolist() == [0, 1, 2, 3, 4, 5, 9]  # step-major, then the potential
    assert fmt.latest == 4


def test_persistence_rollout_repeats_the_latest_state():
    fmt = FieldFormat(n_input=2, n_channels=2, n_constant=1)
    model = build_model("persistence", PersistenceConfig(fmt.in_channels, fmt.out_channels, offset=fmt.latest))
    fields, constant = torch.randn(3, 2, 2, 32), torch.randn(3, 1, 32)
    rollout = fmt.rollout(model, fields, constant, n_steps=4)
    assert rollout.shape == (3, 4, 2, 32)
    torch.testing.assert_close(rollout, fields[:, -1:].expand(3, 4, 2, 32))


def test_rollout_feeds_predictions_back():
    class AddOne(nn.Module):  # next = latest + 1, reading the latest step from its channel slot
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, 2:4] + 1

    fmt = FieldFormat(n_input=2, n_channels=2)
    fields = torch.zeros(1, 2, 2, 8)
    rollout = fmt.rollout(AddOne(), fields, None, n_steps=3)
    assert rollout[0, :, 0, 0].tolist() == [1.0, 2.0, 3.0]


def test_mismatched_samples_are_refused():
    fmt = FieldFormat(n_input=2, n_channels=2, n_constant=1)
    with pytest.raises(ValueError, match=r"fields have \(3, 2\) \(steps, channels\); this format takes \(2, 2\)"):
        fmt.inputs(torch.zeros(1, 3, 2, 8), torch.zeros(1, 1, 8))
    with pytest.raises(ValueError, match="constant fields have None channels; this format takes 1"):
        fmt.inputs(torch.zeros(1, 2, 2, 8))
    with pytest.raises(ValueError, match="n_input = -1 is invalid"):
        FieldFormat(n_input=-1, n_channels=2)
    with pytest.raises(ValueError, match="residual = True is invalid with n_input = 0"):
        FieldFormat(n_input=0, n_channels=2, residual=True)
    generator = FieldFormat(n_input=0, n_channels=2)  # reads no field: generation from a condition alone
    assert generator.in_channels == 0 and generator.inputs(torch.zeros(3, 0, 2, 8)).shape == (3, 0, 8)


def test_a_residual_format_adds_the_model_output_to_the_latest_state():
    class Half(nn.Module):  # output = half the latest step's channels
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 0.5 * x[:, 2:4]

    fields, constant = torch.randn(3, 2, 2, 16), torch.randn(3, 1, 16)
    plain = FieldFormat(n_input=2, n_channels=2, n_constant=1)
    residual = FieldFormat(n_input=2, n_channels=2, n_constant=1, residual=True)
    torch.testing.assert_close(plain.predict(Half(), fields, constant), 0.5 * fields[:, -1])
    torch.testing.assert_close(residual.predict(Half(), fields, constant), 1.5 * fields[:, -1])
    # Rollouts go through the same rule: each step multiplies the state by 1.5.
    rollout = residual.rollout(Half(), fields, constant, n_steps=3)
    torch.testing.assert_close(rollout[:, 2], 1.5**3 * fields[:, -1])


def test_squash_compresses_constant_channels_by_their_scale():
    fmt = FieldFormat(n_input=1, n_channels=2, n_constant=2, squash=(2.0, 0.0))
    constant = torch.tensor([0.0, 1.0, 2.0, 1000.0]).view(1, 1, 4).expand(1, 2, 4)
    x = fmt.inputs(torch.zeros(1, 1, 2, 4), constant)
    torch.testing.assert_close(x[0, 2], torch.asinh(constant[0, 0] / 2.0))  # squashed: 1000 -> 6.9
    torch.testing.assert_close(x[0, 3], constant[0, 1])  # scale 0: left as it is
    assert FieldFormat(**fmt.to_dict()) == fmt
    with pytest.raises(ValueError, match=r"squash = \(1.0,\) is invalid: one scale >= 0 per constant channel \(2\)"):
        FieldFormat(n_input=1, n_channels=2, n_constant=2, squash=(1.0,))
