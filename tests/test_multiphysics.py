"""One model across families: the shared trunk, each family's own embedding and head, and the mixed sampler."""

from __future__ import annotations

import collections

import pytest
import torch

from physml.models import MultiphysicsConfig, MultiphysicsTransformer, load_checkpoint, save_checkpoint
from physml.training.mixture import batch_counts, mixed_batches


def _config(**changes):
    values = {
        "families": ("waves", "quanta"), "in_channels": (2, 3), "out_channels": (1, 2), "field_size": (60, 64),
        "patch": (3, 4), "dim": 16, "depth": 2, "n_heads": 2, "n_kv_heads": 1, "vocab_size": 40, "text_length": 8,
        "image_channels": (2, 1), "image_size": (8, 8), "image_patch": 4,
    }  # fmt: skip
    return MultiphysicsConfig(**{**values, **changes})


def _model(**changes):
    torch.manual_seed(0)
    return MultiphysicsTransformer(_config(**changes)).double()


def test_each_family_maps_its_own_grid_and_channels():
    model = _model()
    assert model(torch.randn(3, 2, 60, dtype=torch.float64), family="waves").shape == (3, 1, 60)
    text, image = torch.randint(1, 40, (3, 5)), torch.randn(3, 1, 8, 8, dtype=torch.float64)
    out = model(torch.randn(3, 3, 64, dtype=torch.float64), family="quanta", text=text, image=image)
    assert out.shape == (3, 2, 64)


def test_the_trunk_is_one_set_of_weights_and_the_rest_is_each_familys_own():
    model = _model()
    waves, quanta = model.members["waves"], model.members["quanta"]
    assert waves.blocks is quanta.blocks is model.trunk.blocks and waves.modality is quanta.modality
    assert waves.field_embed is not quanta.field_embed and waves.head is not quanta.head
    single = sum(p.numel() for p in waves.parameters())
    total = sum(p.numel() for p in model.parameters())
    own = sum(p.numel() for name, p in quanta.named_parameters() if name.split(".")[0] not in
              ("blocks", "norm", "text_embed", "modality"))  # fmt: skip
    assert total == single + own  # counted once
    # A step on one family moves the trunk the other reads, and leaves the other's own weights alone.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.2 * torch.randn_like(p))
    x = torch.randn(2, 3, 64, dtype=torch.float64)
    head_before, block_before = waves.head.weight.clone(), waves.blocks[0].mix.q.weight.clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model(x, family="quanta").square().mean().backward()
    assert waves.head.weight.grad is None
    optimizer.step()
    assert torch.equal(waves.head.weight, head_before) and not torch.equal(waves.blocks[0].mix.q.weight, block_before)


def test_a_checkpoint_holds_the_trunk_once_and_rebuilds_the_model(tmp_path):
    model = _model()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.2 * torch.randn_like(p))
    keys = list(model.state_dict())
    assert any(k.startswith("trunk.blocks.") for k in keys)
    assert not any(k.startswith("members.") and k.split(".")[2] in ("blocks", "norm", "modality") for k in keys)
    save_checkpoint(tmp_path / "joint.pt", model)
    restored, _ = load_checkpoint(tmp_path / "joint.pt")
    x = torch.randn(2, 2, 60, dtype=torch.float64)
    torch.testing.assert_close(restored.double().eval()(x, family="waves"), model.eval()(x, family="waves"))
    assert restored.members["waves"].blocks is restored.trunk.blocks


def test_gradients_are_exact_in_float64():
    model = _model(depth=1, dim=8, n_heads=2, n_kv_heads=1).eval()
    with torch.no_grad():
        model.members["waves"].head.weight.normal_(std=0.1)
    x = torch.randn(1, 2, 60, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: model(v, family="waves"), (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"families": ("waves", "waves")}, r"families = \('waves', 'waves'\) is invalid: must be distinct"),
        ({"patch": (3,)}, r"patch = \(3,\) is invalid: must give one value per family \(2: waves, quanta\)"),
        ({"patch": (7, 4)}, r"family 'waves': MultimodalConfig.field_size = \(60,\) is invalid: must be multiples"),
        ({"image_channels": (1,)}, r"image_channels = \(1,\) is invalid: must give one value per family"),
    ],
)
def test_bad_options_are_refused_naming_the_family_and_option(change, message):
    with pytest.raises(ValueError, match=message):
        _config(**change)


def test_an_unknown_family_is_refused_by_name():
    with pytest.raises(ValueError, match=r"family = 'collapse' is invalid: this model knows waves, quanta"):
        _model()(torch.randn(1, 2, 60, dtype=torch.float64), family="collapse")


def test_the_mixed_sampler_draws_the_datasets_in_the_configured_proportions():
    sizes, weights = {"a": 100, "b": 300, "c": 50}, {"a": 1.0, "b": 2.0, "c": 0.5}
    counts = batch_counts(sizes, weights, 8)
    assert sum(counts.values()) == 13 + 38 + 7  # one pass over each, in whole batches
    for name in sizes:  # whole batches as close to the weights as they go
        assert abs(counts[name] - 58 * weights[name] / 3.5) < 1
    batches = mixed_batches(sizes, weights, batch_size=8, seed=3, epoch=0)
    assert collections.Counter(name for name, _ in batches) == counts
    assert all(len(idx) == 8 and max(idx) < sizes[name] for name, idx in batches)
    # Over epochs, each dataset's samples are drawn evenly (its stream of permutations continues).
    seen = collections.Counter()
    for epoch in range(6):
        batches = mixed_batches(sizes, weights, batch_size=8, seed=3, epoch=epoch)
        seen.update(i for name, idx in batches if name == "b" for i in idx)
        assert batches == mixed_batches(sizes, weights, batch_size=8, seed=3, epoch=epoch)  # resumable
    assert len(seen) == 300 and max(seen.values()) - min(seen.values()) <= 1
    assert mixed_batches(sizes, weights, batch_size=8, seed=4, epoch=0) != mixed_batches(
        sizes, weights, batch_size=8, seed=3, epoch=0
    )


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"a": -1.0, "b": 1.0}, r"data.a.weight = -1.0 is invalid: must be a finite number >= 0"),
        ({"a": 0.0, "b": 0.0}, r"at least one must be > 0"),
        ({"a": float("nan"), "b": 1.0}, r"data.a.weight = nan is invalid"),
    ],
)
def test_bad_weights_are_refused_by_name(weights, message):
    with pytest.raises(ValueError, match=message):
        batch_counts({"a": 10, "b": 10}, weights, 4)
