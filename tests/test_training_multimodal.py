"""Text and images through the trainer, checkpoints and evaluation: what the model reads is what it was trained on."""

from __future__ import annotations

import pytest
import torch

from physml.datasets import Tokenizer
from physml.models import MultimodalTransformer, load_checkpoint
from physml.training import Trainer, train_config_from_dict
from physml.training.conditioning import Conditioning
from physml.training.evaluate import evaluate_checkpoints, load_surrogate

PARAMS = {"patch": 8, "dim": 16, "depth": 1, "n_heads": 2, "n_kv_heads": 1, "image_patch": 8}


def config(path, modalities, **changes):
    raw = {
        "data": {"path": str(path), "n_input": 1, "batch_size": 8, "constant_fields": []},
        "model": {"name": "multimodal_transformer", "params": dict(PARAMS), "residual": True},
        "modalities": modalities,
        "losses": {"data": 1.0},
        "epochs": 1,
        "optim": {"lr": 3e-3, "warmup_steps": 2},
        "checkpoint_every": 2,
    }
    raw.update(changes)
    return train_config_from_dict(raw)


TEXT_IMAGE = {"text": True, "text_length": 160, "image": [16, 64]}


def test_trainer_fills_the_model_from_the_data_and_saves_the_tokenizer(tiny_dataset, tmp_path):
    trainer = Trainer(config(tiny_dataset, TEXT_IMAGE), tmp_path / "run", progress=False)
    model = trainer.model
    assert isinstance(model, MultimodalTransformer)
    cfg = model.config
    assert cfg.field_size == (128,) and cfg.image_size == (16, 64) and cfg.image_channels == 1
    assert cfg.modalities == ("text", "image") == cfg.missing_ok
    assert cfg.vocab_size == trainer.conditioning.tokenizer.vocab_size and cfg.text_length == 160
    trainer.train()
    _, extra = load_checkpoint(tmp_path / "run" / "last.pt")  # weights_only: the tokenizer travels as JSON
    restored = Conditioning.from_dict(extra["conditioning"])
    assert restored == trainer.conditioning
    text = "a deep double well, barrier = 1.75"
    assert restored.tokenizer.encode(text) == trainer.conditioning.tokenizer.encode(text)


def test_text_and_image_change_the_prediction(tiny_dataset, tmp_path):
    trainer = Trainer(config(tiny_dataset, TEXT_IMAGE), tmp_path / "run", progress=False)
    trainer.train()
    surrogate = load_surrogate(tmp_path / "run" / "last.pt")
    batch = next(iter(torch.utils.data.DataLoader(surrogate.windows(tiny_dataset, split="train"), batch_size=4)))
    assert isinstance(batch["text"][0], str) and batch["image"].shape == (4, 1, 16, 64)
    fields = batch["input_fields"]
    full = surrogate.rollout(fields, None, 2, batch)
    blank = surrogate.rollout(fields, None, 2, {**batch, "image": torch.zeros_like(batch["image"])})
    assert full.shape == (4, 2, 2, 128) and not torch.allclose(full, blank)
    # Trained with modality dropout: it also runs with neither (and then predicts differently).
    bare = surrogate.rollout(fields, None, 2, {})
    assert not torch.allclose(full, bare)


def test_a_modality_the_model_never_trained_without_is_a_clear_error(tiny_dataset, tmp_path):
    model = dict(PARAMS, missing_ok=[])
    cfg = config(
        tiny_dataset,
        {"text": True, "text_length": 160},
        model={"name": "multimodal_transformer", "params": model, "residual": True},
    )
    Trainer(cfg, tmp_path / "run", progress=False).train(stop_after=1)
    surrogate = load_surrogate(tmp_path / "run" / "last.pt")
    batch = next(iter(torch.utils.data.DataLoader(surrogate.windows(tiny_dataset, split="train"), batch_size=2)))
    with pytest.raises(ValueError, match="text = None is invalid: this model was never trained without text"):
        surrogate.rollout(batch["input_fields"], None, 1, {})


def test_evaluation_scores_models_with_different_modalities_on_the_same_windows(tiny_dataset, tmp_path):
    strict = {"name": "multimodal_transformer", "params": dict(PARAMS, missing_ok=[]), "residual": True}
    for name, modalities in (("fields", {}), ("text", {"text": True, "text_length": 160})):
        # missing_ok = []: the text model fails unless the evaluation windows carry its descriptions
        Trainer(config(tiny_dataset, modalities, model=strict), tmp_path / name, progress=False).train()
    metrics = evaluate_checkpoints(
        {"fields": tmp_path / "fields" / "best.pt", "text": tmp_path / "text" / "best.pt"},
        tiny_dataset,
        split="test",
        rollout=3,
    )
    assert set(metrics["models"]) == {"fields", "text", "persistence"}
    for result in metrics["models"].values():
        assert 0 < result["one_step"]["nrmse"] < 10 and len(result["rollout"]["nrmse_per_step"]) == 3


def test_text_longer_than_the_context_is_an_error_not_a_truncation(tiny_dataset, tmp_path):
    trainer = Trainer(config(tiny_dataset, {"text": True, "text_length": 160}), tmp_path / "run", progress=False)
    short = Conditioning(trainer.conditioning.tokenizer, 8, None)
    with pytest.raises(ValueError, match="tokens"):
        short({"text": ["a harmonic trap with omega = 1.25 per time unit"]}, "cpu")


@pytest.mark.parametrize(
    ("modalities", "match"),
    [
        ({"image": [4, 64]}, r"modalities.image = \[4, 64\] is invalid"),
        ({"text": "yes"}, "modalities.text = 'yes' is invalid"),
        ({"text_length": 1}, "modalities.text_length = 1 is invalid"),
        ({"colour": True}, r"modalities keys \['colour'\] are invalid"),
    ],
)
def test_bad_modality_config_names_the_value(tiny_dataset, modalities, match):
    with pytest.raises(ValueError, match=match):
        config(tiny_dataset, modalities)


def test_model_params_that_contradict_the_data_are_refused(tiny_dataset, tmp_path):
    cfg = config(
        tiny_dataset,
        {"image": [16, 64]},
        model={"name": "multimodal_transformer", "params": dict(PARAMS, image_size=[32, 32]), "residual": True},
    )
    with pytest.raises(ValueError, match=r"model.params.image_size = \[32, 32\] but the data give \(16, 64\)"):
        Trainer(cfg, tmp_path / "run", progress=False)


def test_conditioning_round_trips_through_plain_values():
    tokenizer = Tokenizer.train(["M = 1.4, l = 3", "a near-extremal Kerr hole, a/M = 0.99"], vocab_size=300)
    conditioning = Conditioning(tokenizer, 32, (16, 16))
    assert Conditioning.from_dict(conditioning.to_dict()) == conditioning
    assert Conditioning.from_dict(None) == Conditioning()


def test_evaluate_cli_labels_models_and_compares_splits(tiny_dataset, tmp_path, capsys):
    import json

    from physml.cli import main

    for name, modalities in (("fields", {}), ("image", {"image": [16, 64]})):
        Trainer(config(tiny_dataset, modalities), tmp_path / name, progress=False).train(stop_after=2)
    out = tmp_path / "cmp"
    code = main(["evaluate", f"picture={tmp_path / 'image' / 'last.pt'}", str(tiny_dataset),
                 "--baseline", str(tmp_path / "fields" / "last.pt"), "--split", "test", "--split", "val",
                 "--rollout", "2", "--out", str(out)])  # fmt: skip
    assert code == 0 and (out / "comparison.png").stat().st_size > 0
    for split in ("test", "val"):
        metrics = json.loads((out / split / "metrics.json").read_text())
        assert list(metrics["models"]) == ["picture", "fields", "persistence"] and metrics["split"] == split
    assert "## val" in capsys.readouterr().out


def test_physics_losses_apply_to_the_transformer(tiny_dataset, tmp_path):
    """The constraint terms are model-agnostic: the transformer trains with the Schrödinger norm and energy terms."""
    cfg = config(
        tiny_dataset,
        {"text": True, "text_length": 160},
        data={"path": str(tiny_dataset), "n_input": 1, "batch_size": 8},  # the potential is given here
        losses={"data": 1.0, "schrodinger_norm": 0.1, "schrodinger_energy": 0.01},
    )
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    batch = next(iter(torch.utils.data.DataLoader(trainer.train_set, batch_size=4)))
    terms = trainer.losses(batch)
    assert set(terms) == {"data", "schrodinger_norm", "schrodinger_energy"}
    trainer.total(terms).backward()
    assert trainer.model.text_embed.weight.grad is not None
    assert all(torch.isfinite(p.grad).all() for p in trainer.model.parameters() if p.grad is not None)


def test_models_that_read_fields_only_refuse_modalities_early(tiny_dataset, tmp_path):
    cfg = config(tiny_dataset, {"text": True, "text_length": 160},
                 model={"name": "fno", "params": {"modes": [8], "width": 8, "n_layers": 1}})  # fmt: skip
    with pytest.raises(ValueError, match=r"modalities \['text'\] are invalid for model 'fno'"):
        Trainer(cfg, tmp_path / "run", progress=False)


def test_a_context_too_short_for_the_descriptions_fails_at_setup(tiny_dataset, tmp_path):
    with pytest.raises(ValueError, match=r"modalities.text_length = 20 is invalid .* take up to"):
        Trainer(config(tiny_dataset, {"text": True, "text_length": 20}), tmp_path / "run", progress=False)


def test_rollout_without_the_batch_of_a_text_model_is_an_error(tiny_dataset, tmp_path):
    Trainer(config(tiny_dataset, {"text": True, "text_length": 160}), tmp_path / "run", progress=False).train(
        stop_after=1
    )
    surrogate = load_surrogate(tmp_path / "run" / "last.pt")
    fields = torch.zeros(1, 1, 2, 128)
    with pytest.raises(ValueError, match=r"batch is None, but this model reads \['text'\]"):
        surrogate.rollout(fields, None, 1)
