"""Video in: the camera that films fields, and the transformer that watches the film (tubelets at (t, y, x))."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from physml.datasets import Camera
from physml.models import FieldFormat, MultimodalConfig, MultimodalTransformer, grow

# -- the camera -------------------------------------------------------------------------------------------


def test_the_camera_films_values_in_eight_bit_colours_and_a_film_reads_back_to_half_a_level():
    camera = Camera(channel=1, colormap="RdBu_r", limits=(-2.0, 2.0), levels=64)
    assert torch.equal(camera.palette * 255, (camera.palette * 255).round())  # 8 bits a component
    values = torch.linspace(-2.0, 2.0, 1001, dtype=torch.float64).view(1, 1, 1, 1, -1)
    fields = torch.cat([torch.randn_like(values), values], dim=2)  # channel 0 is not filmed
    frames = camera(fields)  # (1, 1, 3, 1, 1001)
    assert frames.shape == (1, 1, 3, 1, 1001) and frames.dtype == torch.float32
    colours = frames[0, 0, :, 0].T  # (1001, 3)
    level = torch.cdist(colours, camera.palette).argmin(1)  # the palette's colours are distinct: read back exactly
    read = -2.0 + 4.0 * level.double() / 63
    assert (read - values.flatten()).abs().max() <= 4.0 / 63 / 2 + 1e-12  # half a level step
    assert torch.equal(camera(fields * 0 + 0.0)[0, 0, :, 0, 0], camera.palette[32])  # zero: the middle colour


def test_the_camera_clips_beyond_its_limits_and_round_trips_through_plain_values():
    camera = Camera(limits=(-1.0, 1.0))
    fields = torch.tensor([-50.0, -1.0, 1.0, 50.0]).view(1, 1, 1, 1, 4)
    frames = camera(fields)[0, 0, :, 0].T  # (4, 3)
    assert torch.equal(frames[0], frames[1]) and torch.equal(frames[2], frames[3])
    assert torch.equal(frames[0], camera.palette[0]) and torch.equal(frames[3], camera.palette[-1])
    again = Camera.from_dict(camera.to_dict())
    assert again == camera and torch.equal(again(fields), camera(fields))


@pytest.mark.parametrize("options, message", [
    ({"channel": -1}, r"video\.channel = -1 is invalid"),
    ({"colormap": "no-such-map"}, r"video\.colormap = 'no-such-map' is invalid: must name a matplotlib colour map"),
    ({"limits": (1.0, -1.0)}, r"video\.limits = \(1\.0, -1\.0\) is invalid: must be \[low, high\]"),
    ({"levels": 1000}, r"video\.levels = 1000 is invalid: must be an int in 2 \.\. 256"),
])  # fmt: skip
def test_bad_camera_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        Camera(**options)


def test_a_camera_refuses_unknown_options_and_fields_without_its_channel():
    with pytest.raises(ValueError, match=r"video options \['fps'\] are unknown"):
        Camera.from_dict({"fps": 30})
    with pytest.raises(ValueError, match=r"must be \(B, T, C, H, W\) with C > channel = 2"):
        Camera(channel=2)(torch.zeros(1, 2, 2, 4, 4))


# -- the model --------------------------------------------------------------------------------------------


def _config(**changes) -> MultimodalConfig:
    base = {
        "in_channels": 3,
        "out_channels": 1,
        "field_size": (16, 16),
        "patch": 4,
        "dim": 32,
        "depth": 2,
        "n_heads": 2,
        "n_kv_heads": 1,
        "modalities": ("video",),
        "missing_ok": (),
        "video_frames": 2,
        "video_size": (16, 16),
        "video_patch": 4,
        "tubelet": 2,
    }
    return MultimodalConfig(**{**base, **changes})  # fmt: skip


def _model(config: MultimodalConfig, seed: int = 0) -> MultimodalTransformer:
    torch.manual_seed(seed)
    model = MultimodalTransformer(config).eval()
    torch.nn.init.normal_(model.head.weight, std=0.1)  # (a fresh head is zero: give it something to say)
    return model


def test_a_film_only_model_never_reads_the_arrays_and_reads_every_frame():
    model = _model(_config(read_fields=False))
    x, video = torch.randn(2, 3, 16, 16), torch.rand(2, 2, 3, 16, 16)
    out = model(x, video=video)
    assert out.shape == (2, 1, 16, 16)
    assert torch.equal(model(torch.randn_like(x), video=video), out)  # the arrays are not read
    for frame in (0, 1):
        changed = video.clone()
        changed[:, frame] = torch.rand_like(changed[:, frame])
        assert (model(x, video=changed) - out).abs().max() > 1e-3
    with_fields = _model(_config(read_fields=True))
    other = torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    assert (with_fields(other, video=video) - with_fields(x, video=video)).abs().max() > 1e-3


def test_the_field_patches_sit_one_tubelet_after_the_clip_over_the_pixels_of_their_tubelets():
    """Beside a film the field tokens sit at (t, y, x) one tubelet on; without arrays, the head reads the film's
    last slice, whose tubelets sit over the same patches."""
    model = _model(_config(video_frames=4, tubelet=2))
    field, clip = model.field_positions, model.video_positions  # (16, 3), (2 * 16, 3): (t, y, x)
    assert field.shape == (16, 3) and clip.shape == (32, 3)
    assert (field[:, 0] == 2).all() and torch.equal(clip[:, 0].unique(), torch.tensor([0, 1]))
    assert torch.equal(field[:, 1:], clip[:16, 1:]) and torch.equal(clip[:16, 1:], clip[16:, 1:])


def test_a_tubelet_reads_its_own_pixels_only():
    """Changing one pixel moves exactly one video token's embedding: that of the tubelet over it."""
    model = _model(_config(video_frames=4, tubelet=2))
    video = torch.rand(1, 4, 3, 16, 16)
    embed = lambda v: model.video_embed(v.transpose(1, 2)).flatten(2).transpose(1, 2)  # noqa: E731
    changed = video.clone()
    changed[0, 3, :, 5, 9] += 1.0  # frame 3 (tubelet 1), pixel (5, 9): patch (1, 2)
    moved = (embed(changed) - embed(video)).abs().amax(-1)[0]  # (32,)
    (index,) = torch.nonzero(moved > 1e-6).flatten().tolist()
    assert model.video_positions[index].tolist() == [1, 1, 2]


def test_a_film_watching_model_grows_into_a_larger_one_that_computes_the_same():
    small = _model(_config(read_fields=False, modalities=("text", "video"), missing_ok=("text",))).double()
    with torch.no_grad():  # a model that computes something: its fresh head is zero, its norms are ones
        for p in small.parameters():
            p.copy_(0.3 * torch.randn_like(p))
    large = grow(small, dataclasses.replace(small.config, dim=64, depth=3)).eval()
    x, video = torch.randn(2, 3, 16, 16, dtype=torch.float64), torch.rand(2, 2, 3, 16, 16, dtype=torch.float64)
    text = torch.randint(1, 512, (2, 6))
    expected = small(x, video=video, text=text)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(large(x, video=video, text=text), expected, rtol=0, atol=1e-6)


def test_the_video_path_has_correct_gradients_in_float64():
    model = _model(_config(read_fields=False, dim=16, depth=1, video_size=(8, 8), field_size=(8, 8))).double()
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    video = torch.rand(1, 2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: model(x, video=v), (video,), eps=1e-6, atol=1e-6)


def test_modality_dropout_drops_the_film_as_a_whole_when_it_may_be_missing():
    config = _config(modalities=("text", "video"), missing_ok=("video",), modality_dropout=1.0)
    model = _model(config).train()  # every sample drops the film
    x, video, text = torch.randn(3, 3, 16, 16), torch.rand(3, 2, 3, 16, 16), torch.randint(1, 512, (3, 5))
    dropped = model(x, text=text, video=video)
    torch.testing.assert_close(dropped, model.eval()(x, text=text), rtol=1e-5, atol=1e-6)
    assert (model(x, text=text, video=video) - dropped).abs().max() > 1e-3  # (in eval mode it watches)


@pytest.mark.parametrize("changes, message", [
    ({"field_size": (16,), "video_size": (16, 16)}, r"modalities = \('video',\) is invalid: must be without 'video'"),
    ({"video_size": (32, 32)}, r"video_size = \(32, 32\) is invalid: must be 4 x the field's patch grid \(4, 4\)"),
    ({"video_frames": 3}, r"tubelet = 2 is invalid: must be a divisor of video_frames = 3"),
    ({"modalities": (), "missing_ok": (), "read_fields": False},
     r"read_fields = False is invalid: must be true unless the model always watches a video"),
    ({"missing_ok": ("video",), "read_fields": False}, r"missing_ok = \('video',\)\): it reads the fields from"),
    ({"read_fields": False, "window": 1}, r"read_fields = False is invalid: must be true with window > 0"),
    ({"read_fields": False, "spectral_skip": 2}, r"read_fields = False is invalid: must be true with spectral_skip"),
])  # fmt: skip
def test_video_options_that_cannot_work_are_named_at_construction(changes, message):
    with pytest.raises(ValueError, match=message):
        _config(**changes)


def test_a_film_of_the_wrong_shape_or_none_is_named():
    model = _model(_config(read_fields=False))
    x = torch.randn(2, 3, 16, 16)
    wrong = r"video shape = \(2, 3, 3, 16, 16\) is invalid: must be .*\(B, 2, 3, 16, 16\)"
    with pytest.raises(ValueError, match=wrong):
        model(x, video=torch.rand(2, 3, 3, 16, 16))
    with pytest.raises(ValueError, match="video = None is invalid: this model was never trained without video"):
        model(x)


def test_a_format_films_the_window_it_feeds_so_a_rollout_films_its_own_predictions():
    camera, seen = Camera(limits=(-1.0, 1.0)), []

    class Watcher(torch.nn.Module):
        def forward(self, x, *, video):
            seen.append(video)
            return torch.full_like(x[:, :1], 0.5)  # the next state: 0.5 everywhere

    fmt = FieldFormat(n_input=2, n_channels=1)
    fields = torch.zeros(1, 2, 1, 4, 4)
    fmt.rollout(Watcher(), fields, None, 3, {"camera": camera})
    assert torch.equal(seen[0], camera(fields))
    assert torch.equal(seen[2], camera(torch.full_like(fields, 0.5)))  # two predictions in: the film of them


# -- training runs that film ------------------------------------------------------------------------------


def test_a_run_that_films_its_windows_refuses_what_cannot_work_at_start_up(tiny_dataset, tiny_packets_2d, tmp_path):
    from physml.training import Trainer, train_config_from_dict

    params = {"patch": 4, "video_patch": 4, "tubelet": 1, "dim": 16, "depth": 1, "n_heads": 2, "n_kv_heads": 1,
              "read_fields": False, "missing_ok": []}  # fmt: skip
    model = {"name": "multimodal_transformer", "params": params, "residual": True}
    raw = {"data": {"path": str(tiny_packets_2d), "n_input": 1, "batch_size": 2}, "model": model,
           "modalities": {"video": {}}, "epochs": 1}  # fmt: skip
    with pytest.raises(ValueError, match=r"model.residual = true is invalid with read_fields = false: .* would leak"):
        Trainer(train_config_from_dict(raw), tmp_path / "a", progress=False)
    flat = {**raw, "data": {**raw["data"], "path": str(tiny_dataset)}, "model": {**model, "residual": False}}
    with pytest.raises(ValueError, match=r"modalities.video is invalid for .*: a film is made of the windows of a 2D"):
        Trainer(train_config_from_dict(flat), tmp_path / "b", progress=False)
    with pytest.raises(ValueError, match=r"modalities.video = 'yes' is invalid: must be a mapping of camera options"):
        train_config_from_dict({**raw, "modalities": {"video": "yes"}})
    with pytest.raises(ValueError, match=r"video.colormap = 'nope' is invalid"):
        train_config_from_dict({**raw, "modalities": {"video": {"colormap": "nope"}}})


def test_a_film_only_run_learns_and_its_checkpoint_films_the_test_windows_alike(tiny_packets_2d, tmp_path):
    from physml.training import Trainer, load_surrogate, train_config_from_dict

    params = {"patch": 4, "video_patch": 4, "tubelet": 1, "dim": 16, "depth": 1, "n_heads": 2, "n_kv_heads": 1,
              "read_fields": False, "missing_ok": []}  # fmt: skip
    raw = {"data": {"path": str(tiny_packets_2d), "n_input": 1, "batch_size": 2, "constant_fields": []},
           "model": {"name": "multimodal_transformer", "params": params, "residual": False},
           "modalities": {"video": {"colormap": "viridis", "limits": [-2, 2]}}, "epochs": 3,
           "optim": {"lr": 3e-3, "warmup_steps": 2}}  # fmt: skip
    trainer = Trainer(train_config_from_dict(raw), tmp_path / "run", progress=False)
    before = trainer.evaluate()
    trainer.train()
    assert trainer.evaluate() < before
    surrogate = load_surrogate(tmp_path / "run" / "best.pt")
    assert surrogate.conditioning.camera == Camera(colormap="viridis", limits=(-2.0, 2.0))
    windows = surrogate.windows(tiny_packets_2d, split="test", n_output=2)
    fields = windows[0]["input_fields"][None]
    rollout = surrogate.rollout(fields, None, 2)  # no batch needed: the film is made of the fields
    assert rollout.shape == (1, 2, *fields.shape[2:]) and torch.isfinite(rollout).all()
