"""The multimodal transformer: fused attention against the written-out formula, rotary positions, masking,
the model's shapes, gradients, invariances, input checks, registry and checkpoints."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import torch

from physml.models import (
    FieldFormat,
    MultimodalConfig,
    MultimodalTransformer,
    RotaryEmbedding,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from physml.models.attention import apply_rotary, reference_attention, sdpa_attention

# -- attention ------------------------------------------------------------------------------------------


def _qkv(n_heads, n_kv_heads, dtype, *, B=2, N=24, D=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, n_heads, N, D, generator=g, dtype=dtype)
    k, v = (torch.randn(B, n_kv_heads, N, D, generator=g, dtype=dtype) for _ in range(2))
    return q, k, v


def _mask(kind, B=2, N=24):
    if kind is None:
        return None
    keep = torch.ones(B, N, dtype=torch.bool)
    keep[0, 17:], keep[1, 5:9] = False, False  # padded keys of each sample
    padding = keep[:, None, None, :]  # (B, 1, 1, N)
    if kind == "padding":
        return padding
    i = torch.arange(N)
    band = (i[:, None] - i[None, :]).abs() <= 3  # (N, N): a local window
    # Every query keeps at least one key (itself), as in the model, where a field patch always sees itself.
    return (band[None, None] & padding) | torch.eye(N, dtype=torch.bool)  # (B, 1, N, N)


TOLERANCE = {torch.float64: {"rtol": 1e-12, "atol": 1e-12}, torch.float32: {"rtol": 1e-5, "atol": 1e-6}}
# Gradients in float32: the fused backward forms dS = P (dP - rowsum(dO O)) from rounded terms, so where the
# exact gradient is 0 (a query that sees a single key) it leaves ~1e-6.
GRAD_TOLERANCE = {torch.float64: {"rtol": 1e-12, "atol": 1e-12}, torch.float32: {"rtol": 1e-5, "atol": 5e-6}}


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(("n_heads", "n_kv_heads"), [(4, 4), (8, 2), (8, 1)])
@pytest.mark.parametrize("mask", [None, "padding", "window"])
def test_sdpa_matches_the_written_out_attention_with_gradients(dtype, n_heads, n_kv_heads, mask):
    q, k, v = (t.requires_grad_() for t in _qkv(n_heads, n_kv_heads, dtype))
    m = _mask(mask)
    fused, plain = sdpa_attention(q, k, v, m), reference_attention(q, k, v, m)
    assert fused.shape == (2, n_heads, 24, 16)
    torch.testing.assert_close(fused, plain, **TOLERANCE[dtype])
    cotangent = torch.randn_like(fused)
    grads = [torch.autograd.grad(out, (q, k, v), cotangent) for out in (fused, plain)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, **GRAD_TOLERANCE[dtype])


def test_grouped_heads_share_their_key_value_head():
    # GQA with 8 query heads on 2 key/value heads is multi-head attention with each kv head copied 4 times.
    q, k, v = _qkv(8, 2, torch.float64)
    expanded = [t.repeat_interleave(4, dim=1) for t in (k, v)]
    torch.testing.assert_close(sdpa_attention(q, k, v), sdpa_attention(q, *expanded), rtol=1e-12, atol=1e-12)
    swapped = sdpa_attention(q, k.flip(1), v.flip(1))
    assert (swapped - sdpa_attention(q, k, v)).abs().max() > 1e-3  # which kv head a query head reads matters


@pytest.mark.parametrize("attend", [sdpa_attention, reference_attention])
@pytest.mark.parametrize("mask", ["padding", "window"])
def test_masked_keys_get_exactly_zero_weight(attend, mask):
    q, k, v = _qkv(8, 2, torch.float64)
    m = _mask(mask)
    out = attend(q, k, v, m)
    # Scramble every key/value no query may see: padded keys of each sample (all queries) ...
    hidden = ~m.expand(2, 1, 24, 24).any(dim=2)[:, 0]  # (B, N): keys masked for every query
    noisy_k, noisy_v = k.clone(), v.clone()
    for b in range(2):
        noisy_k[b][:, hidden[b]] = 1e3 * torch.randn_like(noisy_k[b][:, hidden[b]])
        noisy_v[b][:, hidden[b]] = 1e3 * torch.randn_like(noisy_v[b][:, hidden[b]])
    torch.testing.assert_close(attend(q, noisy_k, noisy_v, m), out, rtol=1e-12, atol=1e-12)
    # ... and a visible key does change the output.
    noisy_v[0, :, 0] += 1.0
    assert (attend(q, noisy_k, noisy_v, m) - out).abs().max() > 1e-3
    if mask == "window":  # query 0 sees keys 0..3 only: the value of key 10 leaves its output unchanged
        far = v.clone()
        far[:, :, 10] += 5.0
        torch.testing.assert_close(attend(q, k, far, m)[:, :, 0], out[:, :, 0], rtol=1e-12, atol=1e-12)


# -- rotary positions -------------------------------------------------------------------------------------


def _rotate(x, angles):
    return apply_rotary(x, angles.cos(), angles.sin())


def _dot(rotary, q, k, pos_q, pos_k):
    angles = rotary.angles(torch.stack([pos_q, pos_k]))  # (2, D/2)
    return (_rotate(q[None], angles[:1]) * _rotate(k[None], angles[1:])).sum()


def test_rotary_1d_scores_depend_on_the_position_difference_only_and_keep_norms():
    rotary, g = RotaryEmbedding(16), torch.Generator().manual_seed(1)
    q, k = torch.randn(2, 16, generator=g, dtype=torch.float64)
    base = _dot(rotary, q, k, torch.tensor(7), torch.tensor(3))
    for shift in (1, 40, 1000):
        shifted = _dot(rotary, q, k, torch.tensor(7 + shift), torch.tensor(3 + shift))
        torch.testing.assert_close(shifted, base, rtol=1e-12, atol=1e-12)
    assert abs(float(_dot(rotary, q, k, torch.tensor(8), torch.tensor(3)) - base)) > 1e-3
    x = torch.randn(50, 16, generator=g, dtype=torch.float64)
    rotated = _rotate(x, rotary.angles(torch.arange(50)))
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1), rtol=1e-13, atol=0)
    torch.testing.assert_close(rotated[0], x[0], rtol=0, atol=0)  # position 0: no rotation


@pytest.mark.parametrize(("axes", "axis", "planes"), [(2, 0, (0, 4)), (2, 1, (4, 8)), (3, 0, (0, 3)), (3, 1, (3, 6)),
                                                      (3, 2, (6, 8))])  # fmt: skip
def test_rotary_axial_scores_depend_on_each_axis_difference_only(axes, axis, planes):
    """2D (row, col) and 3D (t, y, x, a video's tubelets): 8 planes as 4 + 4 and 3 + 3 + 2."""
    rotary, g = RotaryEmbedding(16), torch.Generator().manual_seed(2)
    q, k = torch.randn(2, 16, generator=g, dtype=torch.float64)
    pos_q, pos_k = torch.tensor([5, 2, 7][:axes]), torch.tensor([1, 9, 0][:axes])
    step = torch.zeros(axes, dtype=torch.long)
    step[axis] = 1
    base = _dot(rotary, q, k, pos_q, pos_k)
    for shift in (1, 13, 500):
        shifted = _dot(rotary, q, k, pos_q + shift * step, pos_k + shift * step)
        torch.testing.assert_close(shifted, base, rtol=1e-12, atol=1e-12)
    assert abs(float(_dot(rotary, q, k, pos_q + step, pos_k) - base)) > 1e-3  # the difference along the axis counts
    # Axial: each axis turns its own group of planes only.
    angles = rotary.angles(torch.stack([step, torch.zeros(axes, dtype=torch.long)]))[0]
    turned = torch.zeros(8, dtype=torch.bool)
    turned[planes[0] : planes[1]] = True
    assert ((angles != 0) == turned).all()
    x = torch.randn(30, 16, generator=g, dtype=torch.float64)
    rotated = _rotate(x, rotary.angles(torch.randint(0, 100, (30, axes), generator=g)))
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1), rtol=1e-13, atol=0)


def test_rotary_rejects_bad_sizes_and_positions():
    with pytest.raises(ValueError, match="head_dim = 6 is invalid: must be a positive multiple of 4"):
        RotaryEmbedding(6)
    with pytest.raises(ValueError, match=r"positions of shape \(3, 5\).*1 <= k <= head_dim // 2 = 4"):
        RotaryEmbedding(8).angles(torch.zeros(3, 5, dtype=torch.long))  # more axes than planes
    with pytest.raises(ValueError, match="positions of shape"):
        RotaryEmbedding(8).angles(torch.zeros(3, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r"dtype torch\.float32 are invalid"):
        RotaryEmbedding(8).angles(torch.zeros(3))


# -- the model --------------------------------------------------------------------------------------------

SPACE = {1: (32,), 2: (8, 12)}


def _config(ndim, **changes):
    base = MultimodalConfig(
        in_channels=3, out_channels=2, field_size=SPACE[ndim], patch=4, dim=32, depth=2, n_heads=4, n_kv_heads=2,
        vocab_size=50, text_length=10, image_channels=1, image_size=(8, 8), image_patch=4,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def _model(config, *, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    model = MultimodalTransformer(config).to(dtype).eval()
    with torch.no_grad():  # the head starts at zero; a trained one is not
        model.head.weight.normal_(std=0.3)
    return model


def _inputs(ndim, *, B=2, L=6, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, 3, *SPACE[ndim], generator=g, dtype=dtype)
    text = torch.randint(1, 50, (B, L), generator=g)
    text[1, L - 2 :] = 0  # the second description is shorter: padded
    image = torch.randn(B, 1, 8, 8, generator=g, dtype=dtype)
    return x, text, image


SUBSETS = [(), ("text",), ("image",), ("text", "image")]


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("given", SUBSETS)
def test_model_maps_fields_to_fields_with_any_modalities_and_trains(ndim, given):
    model = _model(_config(ndim), dtype=torch.float32)
    x, text, image = _inputs(ndim, dtype=torch.float32)
    inputs = {"text": text, "image": image}
    out = model(x, **{name: inputs[name] for name in given})
    assert out.shape == (2, 2, *SPACE[ndim]) and out.dtype == torch.float32
    out.square().mean().backward()
    unused = {"text": "text_embed.", "image": "image_embed."}
    for name, p in model.named_parameters():
        if any(name.startswith(unused[m]) for m in unused if m not in given):
            assert p.grad is None, name
        else:
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the GPU training precision, exercised on CPU
        low = model(x, **{name: inputs[name] for name in given})
    assert low.dtype == torch.bfloat16 and torch.isfinite(low).all()
    assert (low.float() - out).abs().max() < 0.05 * out.abs().max()


@pytest.mark.parametrize("ndim", [1, 2])
def test_fresh_model_predicts_zero_so_a_residual_format_starts_as_persistence(ndim):
    model = MultimodalTransformer(_config(ndim))
    fmt = FieldFormat(n_input=1, n_channels=2, n_constant=1, residual=True)  # 3 channels in, 2 out
    fields, constant = torch.randn(2, 1, 2, *SPACE[ndim]), torch.randn(2, 1, *SPACE[ndim])
    # Called as model(x) alone (both modalities optional), as FieldFormat.predict calls it.
    torch.testing.assert_close(fmt.predict(model, fields, constant), fields[:, -1], rtol=0, atol=0)


def _changed_every_sample(a, b):
    return bool((a - b).abs().flatten(1).amax(dim=1).min() > 1e-6)


@pytest.mark.parametrize("ndim", [1, 2])
def test_text_padding_is_invisible_and_the_output_depends_on_text_and_image(ndim):
    model = _model(_config(ndim))
    x, text, image = _inputs(ndim)
    out = model(x, text=text, image=image)
    padded = torch.cat([text, torch.zeros(2, 3, dtype=text.dtype)], dim=1)  # append pad tokens
    torch.testing.assert_close(model(x, text=padded, image=image), out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(  # a sample whose text is all pads is a sample without text
        model(x, text=torch.zeros_like(text), image=image), model(x, image=image), rtol=1e-12, atol=1e-12
    )
    other_text = text.clone()
    other_text[:, 0] = (text[:, 0] % 49) + 1  # another first word, still a real token
    assert _changed_every_sample(model(x, text=other_text, image=image), out)
    assert _changed_every_sample(model(x, text=text, image=image.flip(-1)), out)
    sample = model(x[1:], text=text[1:, :4], image=image[1:])  # the batch does not mix: sample 1 alone
    torch.testing.assert_close(sample, out[1:], rtol=1e-12, atol=1e-12)


def test_sdpa_and_reference_models_agree_with_masks_and_windows():
    config = _config(2, window=1)
    fused, plain = _model(config), _model(dataclasses.replace(config, attention="reference"))
    plain.load_state_dict(fused.state_dict())
    x, text, image = _inputs(2)
    torch.testing.assert_close(fused(x, text=text, image=image), plain(x, text=text, image=image), rtol=1e-12,
                               atol=1e-12)  # fmt: skip


def test_windowed_attention_keeps_distant_field_patches_apart():
    # One block, window 1 on a 4 x 6 patch grid: output patch (0, 0) sees input patches (0..1, 0..1) only.
    config = _config(2, field_size=(16, 24), depth=1, window=1)
    x = torch.randn(2, 3, 16, 24, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    bumped = x.clone()
    bumped[:, :, 12:16, 20:24] += 1.0  # input patch (3, 5)
    local, wide = _model(config), _model(dataclasses.replace(config, window=0))
    for model, reaches in ((local, False), (wide, True)):
        change = (model(bumped) - model(x)).abs()
        assert change[:, :, 12:16, 20:24].max() > 1e-6  # its own patch changes
        assert (change[:, :, :4, :4].max() > 1e-6) == reaches


def test_modality_dropout_in_training_equals_calling_without_the_modality():
    config = _config(1, modality_dropout=1.0)
    model = _model(config)
    x, text, image = _inputs(1)
    expected = model(x)
    model.train()
    torch.testing.assert_close(model(x, text=text, image=image), expected, rtol=1e-12, atol=1e-12)
    # Only modalities in missing_ok are dropped: text is required here and always kept.
    strict = _model(dataclasses.replace(config, missing_ok=("image",)))
    kept = strict(x, text=text, image=image)
    strict.train()
    torch.testing.assert_close(strict(x, text=text, image=image), strict.eval()(x, text=text), rtol=1e-12, atol=1e-12)
    assert (kept - strict(x, text=text)).abs().max() > 1e-6
    half = _model(dataclasses.replace(config, modality_dropout=0.5)).train()
    torch.manual_seed(3)
    outs = {tuple(half(x, text=text).flatten().tolist()) for _ in range(12)}
    assert 1 < len(outs) <= 4  # each sample either keeps its text or drops it: four outcomes at most


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, x, t, i: m(x, text=torch.ones(2, 11, dtype=torch.long)), r"text length = 11 is invalid: must be 1 "),
        (lambda m, x, t, i: m(x, text=t + 100), r"text ids in \[\d+, \d+\] are invalid: .* vocab_size = 50"),
        (lambda m, x, t, i: m(x, text=-t), r"text ids in \[-\d+, 0\] are invalid"),
        (lambda m, x, t, i: m(x, text=t.double()), r"text of dtype torch.float64, shape \(2, 6\) is invalid"),
        (lambda m, x, t, i: m(x, text=t[0]), r"text of dtype torch.int64, shape \(6,\) is invalid"),
        (lambda m, x, t, i: m(x, image=i[..., :4]), r"image shape = \(2, 1, 8, 4\) is invalid: must be .*8, 8\)"),
        (lambda m, x, t, i: m(x, image=i.repeat(1, 3, 1, 1)), r"image shape = \(2, 3, 8, 8\) is invalid"),
        (lambda m, x, t, i: m(x, image=i[:1]), r"image batch size = 1 is invalid: must equal x's, 2"),
        (lambda m, x, t, i: m(x[..., :16]), r"x shape = \(2, 3, 16\) is invalid: must be .*\(B, 3, 32\)"),
        (lambda m, x, t, i: m(x[..., None]), r"x shape = \(2, 3, 32, 1\) is invalid: .* for this 1D model"),
        (lambda m, x, t, i: m(x[:, :2]), r"x shape = \(2, 2, 32\) is invalid"),
    ],
)
def test_bad_inputs_are_refused_with_the_allowed_range(call, message):
    model = _model(_config(1))
    x, text, image = _inputs(1)
    with pytest.raises(ValueError, match=message):
        call(model, x, text, image)


def test_missing_or_unknown_modalities_are_refused():
    x, text, image = _inputs(1)
    required = _model(_config(1, missing_ok=("image",)))
    with pytest.raises(ValueError, match=r"text = None is invalid: this model was never trained without text"):
        required(x, image=image)
    assert required(x, text=text).shape == (2, 2, 32)
    fields_only = _model(_config(1, modalities=(), missing_ok=()))
    assert fields_only.text_embed is None and fields_only.image_embed is None
    with pytest.raises(ValueError, match=r"image was given, but this model takes no image \(modalities = \(\)\)"):
        fields_only(x, image=image)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"field_size": (30,)}, r"field_size = \(30,\) is invalid: must be multiples of patch = 4"),
        ({"field_size": (8, 8, 8)}, r"field_size = \(8, 8, 8\) is invalid: must be \(X,\) or \(X, Y\)"),
        ({"image_size": (8, 6)}, r"image_size = \(8, 6\) is invalid: must be \(H, W\), multiples of image_patch"),
        ({"n_kv_heads": 3}, r"n_kv_heads = 3 is invalid: must be a divisor of n_heads = 4"),
        ({"n_heads": 16}, r"n_heads = 16 is invalid: must be a divisor of dim = 32 leaving a head_dim"),
        ({"missing_ok": ("text",), "modalities": ("image",)}, r"missing_ok = \('text',\) is invalid: must be a subset"),
        ({"modalities": ("audio",)}, r"modalities = \('audio',\) is invalid"),
        ({"attention": "flash"}, r"attention = 'flash' is invalid: must be one of sdpa, reference"),
        ({"depth": 0}, r"depth = 0 is invalid: must be an int >= 1"),
        ({"modality_dropout": 1.5}, r"modality_dropout = 1.5 is invalid: must be \[0, 1\]"),
    ],
)
def test_bad_configs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        _config(1, **changes)


def test_built_by_name_from_plain_values_and_rebuilt_from_a_checkpoint(tmp_path):
    values = {"in_channels": 3, "out_channels": 2, "field_size": [8, 12], "patch": 4, "dim": 32, "depth": 2,
              "vocab_size": 50, "text_length": 10, "image_channels": 1, "image_size": [8, 8], "image_patch": 4,
              "window": 1, "missing_ok": ["image"]}  # as read from YAML, lists included  # fmt: skip
    model = build_model("multimodal_transformer", values)
    assert isinstance(model, MultimodalTransformer) and model.config.ndim == 2 and model.config.field_size == (8, 12)
    with torch.no_grad():
        model.head.weight.normal_(std=0.3)
    x, text, image = (t.float() if t.is_floating_point() else t for t in _inputs(2))
    model.eval()
    path = save_checkpoint(tmp_path / "mm.pt", model, step=3)
    rebuilt, extra = load_checkpoint(path)
    assert type(rebuilt) is MultimodalTransformer and rebuilt.config == model.config and extra == {"step": 3}
    assert set(rebuilt.state_dict()) == set(model.state_dict())  # positions are rebuilt, not stored
    torch.testing.assert_close(rebuilt.eval()(x, text=text, image=image), model(x, text=text, image=image),
                               rtol=0, atol=0)  # fmt: skip


def test_every_gqa_grouping_builds_and_runs():
    x, text, image = _inputs(1)
    for n_heads, n_kv_heads in itertools.product((1, 2, 4), repeat=2):
        if n_heads % n_kv_heads == 0:
            model = _model(_config(1, n_heads=n_heads, n_kv_heads=n_kv_heads))
            assert model.blocks[0].mix.kv.out_features == 2 * n_kv_heads * (32 // n_heads)
            assert model(x, text=text, image=image).shape == (2, 2, 32)
