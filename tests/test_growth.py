"""Growing a trained transformer (Net2Net): the larger model starts equal to the smaller, then trains on its own."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from physml.models import FNO, MultimodalConfig, MultimodalTransformer, grow, load_into
from physml.models.fno import FNOConfig

SPACE = {1: (32,), 2: (16, 16)}


def _small(ndim=1, **changes):
    config = MultimodalConfig(
        in_channels=3, out_channels=2, field_size=SPACE[ndim], patch=4, dim=32, depth=2, n_heads=4, n_kv_heads=2,
        vocab_size=50, text_length=10, image_channels=1, image_size=(8, 8), image_patch=4,
    )  # fmt: skip
    torch.manual_seed(1)
    model = MultimodalTransformer(dataclasses.replace(config, **changes)).double().eval()
    with torch.no_grad():  # a model that computes something: its fresh head is zero, its norms are ones
        for p in model.parameters():
            p.copy_(0.3 * torch.randn_like(p))
    return model


def _inputs(ndim):
    torch.manual_seed(2)
    x = torch.randn(4, 3, *SPACE[ndim], dtype=torch.float64)
    return x, torch.randint(1, 50, (4, 7)), torch.randn(4, 1, 8, 8, dtype=torch.float64)


@pytest.mark.parametrize(
    ("ndim", "model", "growth"),
    [
        (1, {}, {"dim": 48}),
        (1, {}, {"depth": 5}),
        (2, {}, {"dim": 64, "depth": 3, "mlp_ratio": 4.0}),
        (1, {"attention": "linear", "spectral_skip": 4}, {"dim": 64, "depth": 4}),
        (1, {"window": 2, "n_kv_heads": 4}, {"dim": 64}),
    ],
)
def test_the_grown_model_computes_what_the_small_one_did(ndim, model, growth):
    small = _small(ndim, **model)
    large = grow(small, dataclasses.replace(small.config, **growth)).eval()
    for name, value in growth.items():
        assert getattr(large.config, name) == value
    assert large.config.dim // large.config.n_heads == small.config.dim // small.config.n_heads  # head_dim kept
    assert sum(p.numel() for p in large.parameters()) > sum(p.numel() for p in small.parameters())
    x, text, image = _inputs(ndim)
    expected = small(x, text=text, image=image)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(large(x, text=text, image=image), expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(large(x), small(x), rtol=0, atol=1e-6)  # without text and image too


def test_a_grown_causal_model_generates_the_same_series_step_by_step():
    small = _small(1, causal=True, modalities=(), missing_ok=())
    large = grow(small, dataclasses.replace(small.config, dim=48, depth=3)).eval()
    x = _inputs(1)[0]
    torch.testing.assert_close(large.step(x[..., :8])[0], small.step(x[..., :8])[0], rtol=0, atol=1e-6)


def test_every_new_weight_learns_from_the_first_steps():
    small = _small(1)
    large = grow(small, dataclasses.replace(small.config, dim=48, depth=3)).train()
    x, text, image = _inputs(1)
    target = torch.randn(4, 2, 32, dtype=torch.float64)
    optimizer = torch.optim.Adam(large.parameters(), lr=1e-3)
    for _ in range(2):  # the first step reaches the zeroed outputs; the second, what feeds them
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(large(x, text=text, image=image), target).backward()
        optimizer.step()
    d = small.config.dim
    assert large.field_embed.weight[d:].abs().max() > 0  # the new channels of the stream
    assert large.blocks[0].mix.out.weight[:, d:].abs().max() > 0  # the new heads
    assert large.blocks[0].mlp.down.weight[:, int(small.config.mlp_ratio * d) :].abs().max() > 0  # new units
    new_block = large.blocks[1]  # old blocks sit at 0 and 2 (spread), the new one between them
    assert new_block.mix.out.weight.abs().max() > 0 and new_block.mlp.down.weight.abs().max() > 0
    assert new_block.mix.q.weight.grad.abs().max() > 0


def test_growth_leaves_the_small_model_alone_and_draws_from_its_seed():
    small = _small(1)
    before = {k: v.clone() for k, v in small.state_dict().items()}
    bigger = dataclasses.replace(small.config, dim=48)
    a, b, c = grow(small, bigger, seed=0), grow(small, bigger, seed=0), grow(small, bigger, seed=1)
    assert all(torch.equal(v, small.state_dict()[k]) for k, v in before.items())
    assert torch.equal(a.blocks[0].mix.q.weight, b.blocks[0].mix.q.weight)
    assert not torch.equal(a.blocks[0].mix.q.weight, c.blocks[0].mix.q.weight)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"patch": 8}, r"no function-preserving rule \(patch: 4 -> 8\)"),
        ({"modalities": ("text",), "missing_ok": ("text",)}, r"no function-preserving rule \(modalities: "),
        ({"dim": 16}, r"dim = 16 is invalid: must be >= 32"),
        ({"dim": 40, "n_heads": 5, "n_kv_heads": 1}, r"dim = 40 is invalid: must be >= 32 and a multiple of .* = 16"),
        ({"depth": 1}, r"depth = 1 is invalid: must be >= 2"),
        ({"dim": 64, "n_heads": 2, "n_kv_heads": 1}, r"n_heads = 2 is invalid: must be dim / head_dim = 8"),
        ({"dim": 64, "n_heads": 8, "n_kv_heads": 4, "mlp_ratio": 0.5}, r"mlp_ratio = 0.5 is invalid: must be at least"),
        ({"dim": 64, "n_heads": 8, "n_kv_heads": 2}, r"n_kv_heads = 2 is invalid: must be n_heads / 2 = 4"),
    ],
)
def test_growth_without_a_rule_is_refused_by_name(change, message):
    small = _small(1)
    with pytest.raises(ValueError, match=message):
        grow(small, dataclasses.replace(small.config, **change))


def test_loading_weights_into_another_shape_names_the_tensors_that_do_not_fit():
    small = _small(1)
    other = MultimodalTransformer(dataclasses.replace(small.config, patch=8)).double()
    with pytest.raises(ValueError, match=r"patch: 4 -> 8.*do not fit \(saved vs this model\): field_embed\.weight: "
                       r"\(32, 3, 4\) vs \(32, 3, 8\)"):  # fmt: skip
        load_into(other, small)
    fno = FNO(FNOConfig(3, 2, modes=(8,), width=8, n_layers=2))
    wider = FNO(FNOConfig(3, 2, modes=(8,), width=12, n_layers=2))
    with pytest.raises(ValueError, match=r"a FNO cannot grow.*do not fit \(saved vs this model\): .*\(8, 8"):
        load_into(wider, fno)
    same = FNO(FNOConfig(3, 2, modes=(8,), width=8, n_layers=2))
    assert load_into(same, fno) is same
    assert all(torch.equal(v, fno.state_dict()[k]) for k, v in same.state_dict().items())


def _run_config(path, **params):
    from physml.training import train_config_from_dict

    return train_config_from_dict({
        "data": {"path": str(path), "n_input": 1, "batch_size": 8, "constant_fields": []},
        "model": {"name": "multimodal_transformer", "residual": True,
                  "params": {"patch": 8, "depth": 1, "n_heads": 2, "n_kv_heads": 1, **params}},
        "modalities": {"text": True, "text_length": 256, "vocab_size": 300 if params.get("dim", 16) > 16 else 400},
        "epochs": 1, "optim": {"lr": 3e-3, "warmup_steps": 2}, "checkpoint_every": 2,
    })  # fmt: skip


def test_a_run_grown_from_a_checkpoint_starts_at_its_loss_with_its_tokenizer(tiny_dataset, tmp_path):
    from physml.training import Trainer

    small = Trainer(_run_config(tiny_dataset, dim=16), tmp_path / "small", progress=False)
    small.train()
    expected = small.evaluate()
    config = _run_config(tiny_dataset, dim=32, depth=2)
    grown = Trainer(config, tmp_path / "large", init_from=tmp_path / "small" / "last.pt", progress=False)
    assert (grown.model.config.dim, grown.model.config.depth, grown.model.config.n_heads) == (32, 2, 4)
    # The text is read with the small model's tokenizer (400 tokens), not one fitted anew (300).
    assert grown.model.config.vocab_size == small.model.config.vocab_size == 400
    assert grown.evaluate() == pytest.approx(expected, rel=1e-4)
    grown.train(stop_after=1)
    with pytest.raises(ValueError, match=r"resume with the same command \(and --init\)"):
        Trainer(config, tmp_path / "large", progress=False).train()  # the grown run without its --init
