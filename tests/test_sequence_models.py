"""GRU, LSTM, selective SSM and mixture-of-experts variants of the transformer, and linear / causal attention."""

from __future__ import annotations

import math

import pytest
import torch

from physml.models import build_model, load_checkpoint, save_checkpoint
from physml.models.attention import linear_attention, reference_attention, sdpa_attention
from physml.models.mixers import MixtureOfExperts, balance_loss

SCANS = ("gru", "lstm", "ssm")
NEW = (*SCANS, "moe_transformer")
FIELDS_ONLY = {"modalities": (), "missing_ok": ()}
SMALL = {"dim": 16, "depth": 2, "n_heads": 2, "n_kv_heads": 1, "n_experts": 4}


def small(name: str, **changes) -> dict:
    params = {"in_channels": 2, "out_channels": 2, "field_size": (32,), "patch": 4, **SMALL, **changes}
    if name != "moe_transformer":
        params.pop("n_experts")
    return params


def randomised(model: torch.nn.Module) -> torch.nn.Module:
    """The model with its zero-initialised head (and spectral skip) drawn at random: outputs depend on the input."""
    torch.nn.init.normal_(model.head.weight, std=0.3)
    if model.spectral is not None:
        torch.nn.init.normal_(model.spectral.weight, std=0.3)
    return model


@pytest.mark.parametrize("name", NEW)
def test_shapes_in_1d_and_2d_with_and_without_text_and_image(name):
    torch.manual_seed(0)
    one = build_model(name, small(name, **FIELDS_ONLY))
    assert one(torch.randn(3, 2, 32)).shape == (3, 2, 32)
    two = build_model(name, small(name, field_size=(16, 8), vocab_size=20, text_length=6, image_size=(8, 8),
                                  image_patch=4, image_channels=1))  # fmt: skip
    x, text, image = torch.randn(3, 2, 16, 8), torch.randint(1, 20, (3, 5)), torch.randn(3, 1, 8, 8)
    assert two(x, text=text, image=image).shape == two(x).shape == (3, 2, 16, 8)
    randomised(two).eval()
    assert not torch.allclose(two(x, text=text, image=image), two(x))  # the scan reads the text and image


@pytest.mark.parametrize("name", NEW)
def test_a_new_model_starts_at_zero_output(name):
    model = build_model(name, small(name, **FIELDS_ONLY))
    assert torch.equal(model(torch.randn(2, 2, 32)), torch.zeros(2, 2, 32))  # persistence under a residual format


@pytest.mark.parametrize(("name", "changes"), [(n, {}) for n in NEW] + [
    ("ssm", {"causal": True, "bidirectional": False}),
    ("multimodal_transformer", {"attention": "linear"}),
    ("multimodal_transformer", {"attention": "linear", "causal": True}),
    ("multimodal_transformer", {"attention": "reference", "causal": True}),
    ("gru", {"spectral_skip": 3}),
])  # fmt: skip
def test_gradients_match_finite_differences_in_float64(name, changes):
    torch.manual_seed(1)
    params = small(name, **FIELDS_ONLY, field_size=(8,), patch=2, dim=8, depth=1, n_heads=2, **changes)
    if name == "moe_transformer":
        params["n_experts"] = 2
    model = randomised(build_model(name, params)).double().eval()
    x = torch.randn(2, 2, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: model(t), (x,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize(("name", "changes"), [(n, {"bidirectional": False}) for n in SCANS] + [
    ("multimodal_transformer", {"attention": a}) for a in ("sdpa", "reference", "linear")
] + [("multimodal_transformer", {"window": 2}), ("moe_transformer", {})])  # fmt: skip
def test_recurrent_steps_give_the_parallel_forward_pass(name, changes):
    """Scans carry their hidden state, softmax attention a key/value cache (the last window + 1 keys with a window),
    linear attention its running sums: step by step, or a prompt at once and then on, the parallel pass's numbers."""
    torch.manual_seed(2)
    model = randomised(build_model(name, small(name, **FIELDS_ONLY, causal=True, **changes)))
    model = model.double().eval()
    x = torch.randn(3, 2, 32, dtype=torch.float64)
    full = model(x)
    state, steps = None, []
    for i in range(8):
        before, (out, state) = state, model.step(x[..., 4 * i : 4 * i + 4], state)
        steps.append(out)
    assert full.abs().max() > 0.1
    assert torch.allclose(torch.cat(steps, dim=-1), full, atol=1e-6, rtol=0)
    again, _ = model.step(x[..., 28:], before)  # a step leaves the state it was given as it was
    assert torch.equal(again, steps[-1])
    prompt, state = model.step(x[..., :20])  # a prompt of 5 patches at once (prefill), one patch, then 2 at once
    middle, state = model.step(x[..., 20:24], state)
    tail, _ = model.step(x[..., 24:], state)
    assert torch.allclose(torch.cat([prompt, middle, tail], dim=-1), full, atol=1e-6, rtol=0)


@pytest.mark.parametrize("attention", ["sdpa", "linear"])
def test_attention_steps_past_the_trained_length_as_a_longer_model_reads(attention):
    """Rotary positions carry no weights: stepping on from the cache past ``field_size`` gives what the same
    weights give over a longer series in one pass."""
    torch.manual_seed(4)
    params = small("multimodal_transformer", **FIELDS_ONLY, causal=True, attention=attention)
    model = randomised(build_model("multimodal_transformer", params)).double().eval()
    longer = build_model("multimodal_transformer", {**params, "field_size": (64,)}).double().eval()
    longer.load_state_dict(model.state_dict())
    x = torch.randn(2, 2, 64, dtype=torch.float64)
    state, steps = None, []
    for i in range(16):
        out, state = model.step(x[..., 4 * i : 4 * i + 4], state)
        steps.append(out)
    assert torch.allclose(torch.cat(steps, dim=-1), longer(x), atol=1e-6, rtol=0)


def test_linear_attention_steps_in_float32_under_bf16_autocast():
    """The running sums stay float32 under autocast, as in the parallel pass: 64 steps agree with it."""
    torch.manual_seed(5)
    params = small("multimodal_transformer", **FIELDS_ONLY, causal=True, attention="linear", field_size=(256,))
    model = randomised(build_model("multimodal_transformer", params)).eval()
    x = torch.randn(2, 2, 256)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        full = model(x).float()
        state, steps = None, []
        for i in range(64):
            out, state = model.step(x[..., 4 * i : 4 * i + 4], state)
            steps.append(out.float())
    assert all(s.dtype == torch.float32 for s in state[0][:2])
    assert (torch.cat(steps, dim=-1) - full).abs().max() < 0.05 * full.abs().max()


def test_a_bidirectional_attention_cannot_step():
    model = build_model("multimodal_transformer", small("multimodal_transformer", **FIELDS_ONLY))
    with pytest.raises(ValueError, match=r"step\(\) is invalid for causal = False"):
        model.step(torch.zeros(1, 2, 4))
    from physml.models.attention import Attention

    with pytest.raises(ValueError, match=r"window = -1 is invalid"):
        Attention(16, 2, 1, window=-1)
    with pytest.raises(ValueError, match=r"window = 2 is invalid: .* 0 for linear attention"):
        Attention(16, 2, 1, window=2, impl="linear")


@pytest.mark.parametrize(("name", "changes"), [(n, {"bidirectional": False}) for n in SCANS] + [
    ("multimodal_transformer", {"attention": a}) for a in ("sdpa", "reference", "linear")
])  # fmt: skip
def test_a_causal_model_never_reads_later_patches(name, changes):
    torch.manual_seed(3)
    model = randomised(build_model(name, small(name, **FIELDS_ONLY, causal=True, **changes))).eval()
    x = torch.randn(2, 2, 32)
    later = x.clone()
    later[..., 20:] = torch.randn(2, 2, 12)  # patches 5.. changed
    a, b = model(x), model(later)
    assert torch.equal(a[..., :20], b[..., :20])
    assert not torch.allclose(a[..., 20:], b[..., 20:])


@pytest.mark.parametrize("name", SCANS)
def test_a_bidirectional_scan_reads_both_ways(name):
    torch.manual_seed(9)
    x = torch.randn(2, 2, 32, dtype=torch.float64)
    later = x.clone()
    later[..., 28:] += 1.0
    for bidirectional, reach in ((True, 1e-12), (False, 0.0)):  # an untrained SSM's reach is small, not zero
        config = small(name, **FIELDS_ONLY, bidirectional=bidirectional, causal=not bidirectional)
        model = randomised(build_model(name, config)).double().eval()
        change = (model(x) - model(later))[..., :4].abs().max()
        assert change > reach if bidirectional else change == 0


def test_linear_attention_is_the_kernelised_formula_and_drops_masked_keys():
    torch.manual_seed(4)
    q, k, v = (torch.randn(2, 4, 10, 8, dtype=torch.float64) for _ in range(3))
    phi_q, phi_k = torch.nn.functional.elu(q) + 1, torch.nn.functional.elu(k) + 1
    weights = phi_q @ phi_k.transpose(-2, -1)  # (B, H, N, N), the unnormalised kernel
    full = (weights / weights.sum(-1, keepdim=True)) @ v
    assert torch.allclose(linear_attention(q, k, v), full, atol=1e-12)
    causal = weights.tril()
    assert torch.allclose(linear_attention(q, k, v, causal=True), (causal / causal.sum(-1, keepdim=True)) @ v,
                          atol=1e-12)  # fmt: skip
    keep = torch.ones(2, 1, 1, 10, dtype=torch.bool)
    keep[:, ..., 7:] = False
    assert torch.allclose(linear_attention(q, k, v, keep), linear_attention(q, k[..., :7, :], v[..., :7, :]))
    with pytest.raises(ValueError, match=r"a \(B, 1, 1, M\) key mask"):
        linear_attention(q, k, v, torch.ones(10, 10, dtype=torch.bool))


def test_causal_softmax_attention_agrees_between_kernels_with_and_without_a_mask():
    torch.manual_seed(5)
    q, k, v = torch.randn(2, 4, 12, 8), torch.randn(2, 2, 12, 8), torch.randn(2, 2, 12, 8)
    expected = reference_attention(q, k, v, causal=True)
    assert torch.allclose(sdpa_attention(q, k, v, causal=True), expected, atol=1e-5)
    keep = torch.ones(2, 1, 1, 12, dtype=torch.bool)
    assert torch.allclose(sdpa_attention(q, k, v, keep, causal=True), expected, atol=1e-5)
    assert torch.allclose(expected[..., :1, :], v[:, :, :1].repeat_interleave(2, dim=1))  # token 0 sees only itself


def test_routing_respects_capacity_and_renormalises_the_chosen_weights():
    torch.manual_seed(6)
    moe = MixtureOfExperts(8, 16, n_experts=4, top_k=2, capacity_factor=0.5)
    torch.nn.init.normal_(moe.router.weight, std=1.0)
    tokens = torch.randn(64, 8) + torch.tensor([3.0, 0, 0, 0, 0, 0, 0, 0])  # skewed: some experts overloaded
    _, chosen, weights, slot = moe.route(tokens)
    capacity = moe.capacity(64)
    assert capacity == math.ceil(0.5 * 64 * 2 / 4)
    for expert in range(4):
        taken = slot[chosen == expert]
        kept = taken[taken >= 0]
        assert len(kept) <= capacity and sorted(kept.tolist()) == list(range(len(kept)))  # slots 0.. without gaps
    assert (slot < 0).any()  # the skewed batch overflowed some expert
    assert torch.allclose(weights.sum(-1), torch.ones(64))
    moe(tokens)
    assert 0 < float(moe.last["dropped"]) < 1
    moe.eval()  # evaluation drops nothing: a sample's prediction does not depend on its batch
    assert (moe.route(tokens)[3] >= 0).all()


def test_the_balancing_loss_is_least_for_uniform_routing():
    n_tokens, n_experts = 400, 4
    uniform = torch.full((n_tokens, n_experts), 1 / n_experts)
    even = torch.arange(n_tokens)[:, None] % n_experts  # each expert chosen equally often
    assert balance_loss(uniform, even).item() == pytest.approx(1.0)
    torch.manual_seed(7)
    for _ in range(20):
        probs = torch.randn(n_tokens, n_experts).mul(2).softmax(-1)
        assert balance_loss(probs, probs.topk(1, dim=-1).indices) >= 1.0 - 1e-6
    one = torch.zeros(n_tokens, n_experts)
    one[:, 0] = 1
    assert balance_loss(one, torch.zeros(n_tokens, 1, dtype=torch.long)).item() == pytest.approx(n_experts)


@pytest.mark.parametrize("name", [*NEW, "multimodal_transformer"])
def test_checkpoints_round_trip(name, tmp_path):
    model = randomised(build_model(name, small(name, **FIELDS_ONLY))).eval()
    save_checkpoint(tmp_path / "m.pt", model)
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    loaded.eval()  # (a mixture of experts drops tokens over capacity in training mode only)
    x = torch.randn(2, 2, 32)
    assert type(loaded) is type(model) and torch.equal(loaded(x), model(x))


def test_checkpoints_from_before_pluggable_mixers_still_load():
    model = build_model("multimodal_transformer", small("multimodal_transformer", **FIELDS_ONLY))
    old = {k.replace(".mix.", ".attn.").replace(".mix_norm.", ".attn_norm."): v for k, v in model.state_dict().items()}
    assert any(".attn." in k for k in old)
    fresh = build_model("multimodal_transformer", small("multimodal_transformer", **FIELDS_ONLY))
    fresh.load_state_dict(old)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))


@pytest.mark.parametrize(("name", "changes", "message"), [
    ("ssm", {"causal": True}, r"bidirectional = True is invalid: must be false with causal = true"),
    ("gru", {"window": 2}, r"GRUConfig.window = 2 is invalid: must be 0"),
    ("moe_transformer", {"n_experts": 2, "top_k": 3}, r"top_k = 3 is invalid: must be an int in 1 .. n_experts = 2"),
    ("moe_transformer", {"capacity_factor": 0.0}, "capacity_factor = 0.0 is invalid"),
    ("multimodal_transformer", {"attention": "linear", "window": 2}, "window = 2 is invalid: must be 0 with attention"),
    ("ssm", {"d_state": 0}, "d_state = 0 is invalid"),
])  # fmt: skip
def test_options_that_cannot_work_together_fail_at_construction(name, changes, message):
    with pytest.raises(ValueError, match=message):
        build_model(name, small(name, **FIELDS_ONLY, **changes))


def test_causal_models_read_1d_fields_only():
    with pytest.raises(ValueError, match=r"causal = True is invalid: must be false with modalities"):
        build_model("multimodal_transformer", small("multimodal_transformer", causal=True))
    with pytest.raises(ValueError, match="causal = True is invalid: must be false for 2D fields"):
        build_model("gru", small("gru", **FIELDS_ONLY, field_size=(8, 8), causal=True, bidirectional=False))
    model = build_model("gru", small("gru", **FIELDS_ONLY))
    with pytest.raises(ValueError, match=r"step\(\) is invalid for causal = False"):
        model.step(torch.zeros(1, 2, 4))
    causal = build_model("gru", small("gru", **FIELDS_ONLY, causal=True, bidirectional=False))
    with pytest.raises(ValueError, match=r"x shape = \(1, 2, 6\) is invalid: must be whole patches"):
        causal.step(torch.zeros(1, 2, 6))


def tiny_run(path, name: str, params: dict, out, epochs: int = 3):
    from physml.training import Trainer, train_config_from_dict

    raw = {
        "data": {"path": str(path), "n_input": 1, "batch_size": 8, "constant_fields": [], "normalize": "rms"},
        "model": {"name": name, "params": params, "residual": True},
        "losses": {"data": 1.0},
        "epochs": epochs,
        "optim": {"lr": 3e-3, "warmup_steps": 2},
        "checkpoint_every": 100,
    }
    trainer = Trainer(train_config_from_dict(raw), out, progress=False)
    trainer.train()
    return trainer


@pytest.mark.parametrize("name", NEW)
def test_a_tiny_training_run_lowers_the_loss(name, tiny_dataset, tmp_path):
    torch.manual_seed(8)
    params = {"patch": 8, "dim": 16, "depth": 1, "n_heads": 2, "n_kv_heads": 1}
    if name == "moe_transformer":
        params["n_experts"] = 4
    trainer = tiny_run(tiny_dataset, name, params, tmp_path / "run")
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    header, first, last = rows[0].split(","), rows[1].split(","), rows[-1].split(",")
    loss = header.index("loss_data")
    assert float(last[loss]) < 0.8 * float(first[loss])
    if name == "moe_transformer":  # its balancing loss and its experts' load are in the log
        assert {"loss_balance", "expert_load_max", "expert_dropped"} <= set(header)
        assert 1 <= float(last[header.index("expert_load_max")]) <= 4
        assert trainer.evaluate() > 0


@pytest.mark.parametrize("recipe", ["gru-schrodinger-1d", "lstm-schrodinger-1d", "ssm-schrodinger-1d",
                                    "moe-transformer-schrodinger-1d"])  # fmt: skip
def test_the_shipped_recipes_train_on_a_tiny_build(recipe, tiny_dataset, tmp_path):
    from conftest import tiny_recipe

    from physml.training import Trainer

    config = tiny_recipe(recipe, tiny_dataset, dim=16, depth=1)
    trainer = Trainer(config, tmp_path / "run", progress=False)
    assert trainer.model.config.in_channels == 3  # psi (re, im) and the squashed potential
    assert trainer.train(stop_after=2)["step"] == 2


def test_train_help_names_every_registered_model():
    import subprocess
    import sys

    from physml.models import MODELS

    text = subprocess.run([sys.executable, "-m", "physml", "train", "--help"], capture_output=True, text=True).stdout
    described = " ".join(text.split())  # argparse wraps the description
    assert [name for name in MODELS if name not in described] == []


@pytest.mark.parametrize("name", ["multimodal_transformer", "resnet"])
def test_the_spectral_skip_holds_the_free_schrodinger_propagator_exactly(name):
    """With ``spectral_skip`` the kinetic step exp(-i k^2 dt / 2) is one weight per mode: set to it, the
    model (the rest of it at zero) advances a free packet as the exact solution does, to round-off."""
    n, length, dt = 256, 40.0, 0.1
    if name == "resnet":
        model = build_model("resnet", {"in_channels": 2, "out_channels": 2, "spectral_skip": n // 2 + 1}).double()
        torch.nn.init.zeros_(model.project.weight)
        torch.nn.init.zeros_(model.project.bias)
    else:
        params = small(name, **FIELDS_ONLY, field_size=(n,), patch=8, spectral_skip=n // 2 + 1)
        model = build_model(name, params).double()
    assert torch.equal(model(torch.randn(1, 2, n, dtype=torch.float64)), torch.zeros(1, 2, n, dtype=torch.float64))
    k = 2 * math.pi * torch.fft.rfftfreq(n, d=length / n, dtype=torch.float64)
    g = torch.exp(-0.5j * k**2 * dt)  # (n // 2 + 1,)
    weight = torch.stack([torch.stack([g.real - 1, g.imag]), torch.stack([-g.imag, g.real - 1])])  # (in, out, k)
    with torch.no_grad():
        model.spectral.weight.copy_(torch.stack([weight, torch.zeros_like(weight)], dim=-1))  # real weights
    x = torch.linspace(-length / 2, length / 2, n + 1, dtype=torch.float64)[:-1]
    psi = torch.exp(-((x + 3) ** 2) + 1.2j * x)
    exact = torch.fft.ifft(torch.fft.fft(psi) * torch.exp(-0.5j * (2 * math.pi * torch.fft.fftfreq(n, d=length / n,
                           dtype=torch.float64)) ** 2 * dt))  # fmt: skip
    fields = torch.stack([psi.real, psi.imag])[None]  # (1, 2, n)
    advanced = fields + model(fields)  # the residual format: next = latest + model
    assert torch.allclose(advanced[0, 0] + 1j * advanced[0, 1], exact, atol=1e-12)


def test_a_spectral_skip_cannot_be_causal_or_hold_more_modes_than_the_grid():
    with pytest.raises(ValueError, match="causal = True is invalid: must be false with spectral_skip"):
        build_model("ssm", small("ssm", **FIELDS_ONLY, causal=True, bidirectional=False, spectral_skip=4))
    with pytest.raises(ValueError, match=r"spectral_skip = 18 is invalid: must be an int in 0 .. 17"):
        build_model("gru", small("gru", **FIELDS_ONLY, spectral_skip=18))
    model = build_model("gru", small("gru", **FIELDS_ONLY, spectral_skip=17))
    assert model(torch.randn(2, 2, 32)).shape == (2, 2, 32)


def test_a_causal_mixture_of_experts_never_reads_later_patches_even_when_tokens_overflow():
    torch.manual_seed(10)
    config = small("moe_transformer", **FIELDS_ONLY, causal=True, capacity_factor=0.5)
    model = randomised(build_model("moe_transformer", config)).train()  # training: capacity drops tokens
    x = torch.randn(4, 2, 32)
    later = x.clone()
    later[..., 20:] = torch.randn(4, 2, 12)
    a, b = model(x), model(later)
    assert float(model.blocks[0].mlp.last["dropped"]) > 0
    assert torch.equal(a[..., :20], b[..., :20])


@pytest.mark.parametrize("name", SCANS)
def test_a_scan_leaves_missing_modalities_out_and_reads_text_at_a_fixed_length(name):
    torch.manual_seed(11)
    config = small(name, vocab_size=20, text_length=8, modalities=("text",), missing_ok=("text",), modality_dropout=1.0)
    model = randomised(build_model(name, config))
    x, text = torch.randn(2, 2, 32), torch.randint(1, 20, (2, 5))
    assert torch.equal(model.train()(x, text=text), model(x))  # dropout 1: the text left out, not masked
    model.eval()
    assert torch.equal(model(x, text=text), model(x, text=torch.nn.functional.pad(text, (0, 3))))  # pads to 8
    assert not torch.allclose(model(x, text=text), model(x))
    with pytest.raises(ValueError, match=r"bidirectional = False is invalid: must be true with modalities"):
        build_model(name, {**config, "bidirectional": False})


def test_linear_attention_keeps_float32_under_autocast_and_causal_kernels_take_float_masks():
    torch.manual_seed(12)
    q, k, v = torch.randn(1, 2, 16, 8), torch.randn(1, 2, 16, 8), torch.randn(1, 2, 16, 8)
    plain = linear_attention(q, k, v, causal=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(linear_attention(q, k, v, causal=True), plain)
    additive = torch.zeros(1, 1, 1, 16)
    expected = reference_attention(q, k, v, causal=True)
    assert torch.allclose(sdpa_attention(q, k, v, additive, causal=True), expected, atol=1e-5)


def test_the_trainer_does_not_decay_the_state_space_time_constants(tiny_dataset, tmp_path):
    from physml.training import Trainer, train_config_from_dict

    raw = {
        "data": {"path": str(tiny_dataset), "n_input": 1, "batch_size": 8, "constant_fields": []},
        "model": {"name": "ssm", "params": {"patch": 8, "dim": 8, "depth": 1}, "residual": True},
        "optim": {"weight_decay": 0.1},
    }
    trainer = Trainer(train_config_from_dict(raw), tmp_path / "run", progress=False)
    decayed, kept = trainer.optimizer.param_groups
    block = trainer.model.blocks[0].mix.forward_scan
    assert decayed["weight_decay"] == 0.1 and kept["weight_decay"] == 0.0
    assert {id(block.A_log), id(block.D)} <= {id(p) for p in kept["params"]}
    assert id(block.in_proj.weight) in {id(p) for p in decayed["params"]}
