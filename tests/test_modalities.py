"""Text and image modalities: descriptions, rendered set-ups, the digit-splitting tokenizer, the sample transform."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

from physml.datasets import (
    FAMILIES,
    Modalities,
    Tokenizer,
    WindowDataset,
    file_descriptions,
    get_family,
    list_configs,
    load_config,
    read_parameters,
)
from physml.datasets.build import resolve_plan
from physml.datasets.captions import generic_caption, number
from physml.datasets.families import Family
from physml.datasets.families.collapse import IMAGE_PHI_MAX
from physml.datasets.families.near_horizon_images import IMAGE_POTENTIAL_MAX
from physml.datasets.families.schrodinger import IMAGE_ENERGY_RANGE
from physml.datasets.store import create_store

#: Parameters every family resolves with (collapse needs an amplitude).
MINIMAL = {"collapse": {"p_over_pstar": 1.1}}
#: Variants of the families whose images differ by dimension.
VARIANTS = [
    (name, MINIMAL.get(name, {})) for name in sorted(FAMILIES)
] + [("schrodinger", {"ndim": 2, "n": 32, "length": 16.0, "potential_kind": "harmonic"}),
     ("near_horizon", {"ndim": 2, "extent": 8.0, "center": 6.0, "theta0": 0.5})]  # fmt: skip


def caption(family: str, seed: int = 0, trajectory: int = 0, **params) -> str:
    fam = get_family(family)
    return fam.caption(
        fam.resolve({**MINIMAL.get(family, {}), **params}), rng=np.random.default_rng([seed, trajectory])
    )


# -- descriptions ---------------------------------------------------------------


def test_numbers_have_three_significant_digits():
    assert [number(v) for v in (1.4523, -6.0, 0.012345, 999.7, 2.5e-5, 0.0, 1e7)] == [
        "1.45", "-6", "0.0123", "1000", "2.5e-05", "0", "1e+07",
    ]  # fmt: skip


@pytest.mark.parametrize("name,extra", VARIANTS)
def test_descriptions_are_fixed_by_the_seed_and_vary_across_seeds(name, extra):
    family = get_family(name)
    params = family.resolve(extra)
    texts = [family.caption(params, rng=np.random.default_rng([seed, 3])) for seed in range(40)]
    again = [family.caption(params, rng=np.random.default_rng([seed, 3])) for seed in range(40)]
    assert texts == again
    assert len(set(texts)) >= 4, "each family words a trajectory in at least four ways"
    assert all(not t[0].islower() and t.endswith(".") for t in texts)


def test_descriptions_carry_the_numbers_with_units():
    text = caption("schrodinger", potential_kind="gaussian-barrier", height=2.5, width=0.4, x0=-6.0, px=1.5)
    for part in ("height = 2.5 energy units", "width = 0.4 length units", "x0 = -6 length units", "px = 1.5 momentum"):
        assert part in text
    text = caption("near_horizon", s=2, l=3, mass=1.4, width=2.5, center=30.0)
    for part in ("spin-2 (gravitational)", "l = 3", "Schwarzschild hole of mass M = 1.4", "width 2.5 M", "r* = 30 M"):
        assert part in text
    text = caption("bh_images", spin=0.973, inclination=80.0, disk_inner=1.2)
    for part in ("a/M = 0.973", "inclination 80 degrees", "1.2 r_ISCO"):
        assert part in text
    assert "amplitude p = 0.0494" in caption("collapse")  # 1.1 p* of the Gaussian shell, p* = 0.044902


@pytest.mark.parametrize(
    "family,params,present,absent",
    [
        ("schrodinger", {"potential_kind": "double-well", "barrier": 3.0, "separation": 3.0},
         "a deep double well", "shallow"),
        ("schrodinger", {"potential_kind": "double-well", "barrier": 1.0, "separation": 2.0},
         "a shallow double well", "deep"),
        ("schrodinger", {"potential_kind": "gaussian-barrier", "height": 2.5, "width": 0.4, "x0": -6.0, "px": 1.5},
         "a tall, narrow Gaussian barrier", "low"),
        ("schrodinger", {"potential_kind": "gaussian-barrier", "height": 0.5, "width": 2.0, "x0": -8.0, "px": 1.5},
         "a low, wide Gaussian barrier", "tall"),
        ("schrodinger", {"potential_kind": "harmonic", "omega": 2.0, "sigma": 0.5}, "coherent state", "squeezed"),
        ("schrodinger", {"potential_kind": "harmonic", "omega": 1.0, "sigma": 0.5}, "squeezed", "coherent"),
        ("schrodinger", {"potential_kind": "lattice", "depth": 5.0, "period": 4.0}, "a deep lattice", "shallow"),
        ("schrodinger", {"potential_kind": "lattice", "depth": 1.0, "period": 1.0}, "a shallow lattice", "deep"),
        ("near_horizon", {"s": 2, "l": 2, "equation": "zerilli"}, "polar (Zerilli)", "axial"),
        ("near_horizon", {"s": 1, "l": 1}, "spin-1 (electromagnetic)", "gravitational"),
        ("near_horizon", {"ndim": 2, "theta0": 0.1}, "near the north pole", "equator"),
        ("bh_images", {"spin": 0.97}, "a near-extremal Kerr hole", "slowly"),
        ("bh_images", {"spin": 0.1}, "a slowly rotating Kerr hole", "extremal"),
        ("bh_images", {"spin": -0.5}, "retrograde", "prograde"),
        ("bh_images", {"spin": 0.0, "inclination": 10.0}, "non-rotating (Schwarzschild)", "Kerr"),
        ("spacetime", {"charge": 0.5}, "Reissner-Nordstrom", "Kerr black hole"),
        ("spacetime", {"spin": 0.6, "charge": 0.7}, "near-extremal Kerr-Newman", "slowly"),
        ("collapse", {"p_over_pstar": 1.2}, "a supercritical pulse", "subcritical"),
        ("collapse", {"p_over_pstar": 0.8}, "a subcritical pulse that disperses", "supercritical"),
        ("collapse", {"p_over_pstar": 1.02}, "near-critical, supercritical", "subcritical"),
    ],
)  # fmt: skip
def test_physics_words_follow_the_numbers(family, params, present, absent):
    for seed in range(6):  # in every phrasing
        text = caption(family, seed=seed, **params).lower()
        assert present.lower() in text and absent.lower() not in text, text


def test_the_base_description_lists_any_familys_parameters_with_units():
    family = get_family("spacetime")
    params = family.resolve({"mass": 1.25, "spin": 0.5})
    text = Family.caption(family, params, rng=np.random.default_rng(0))
    assert text == generic_caption(family, params, np.random.default_rng(0))
    text = text.lower()
    assert "mass = 1.25 length units" in text and "spin = 0.5" in text and "pixels" not in text  # shared: not listed


# -- images ---------------------------------------------------------------------


@pytest.mark.parametrize("name,extra", VARIANTS)
def test_every_family_renders_its_set_up(name, extra):
    family = get_family(name)
    params = family.resolve(extra)
    image = family.render(params, size=(16, 24))  # not square: a transposed image cannot pass
    assert image.shape == (len(family.image_channels(params)), 16, 24)
    assert image.dtype == np.float32 and np.all(np.isfinite(image))
    assert image.min() >= 0 and image.max() <= 1
    assert all(channel.max() > channel.min() for channel in image), "no channel is blank"
    with pytest.raises(ValueError, match="size"):
        family.render(params, size=(16,))


def test_schrodinger_images_show_the_potentials_shape_magnitude_and_position():
    family = get_family("schrodinger")
    low, high = IMAGE_ENERGY_RANGE
    columns, rows = 64, 48
    # Column j covers [-20 + j 0.625, -20 + (j + 1) 0.625): barriers centred on columns 24 and 36.
    barriers = [(-20 + 24.5 * 0.625, 2.0), (-20 + 36.5 * 0.625, 3.0)]
    images = []
    for center, height in barriers:
        params = family.resolve({"potential_kind": "gaussian-barrier", "center": center, "height": height,
                                 "width": 1.0, "x0": -12.0, "n": 256, "length": 40.0})  # fmt: skip
        image = family.render(params, size=(rows, columns))[0]
        filled = image.sum(axis=0)  # rows below V(x) in each column
        # Columns span the box [-20, 20): the barrier's peak is in the column holding its centre.
        assert int(np.argmax(filled)) == int((center + 20.0) / (40.0 / columns))
        # Rows measure energy on the fixed range: the peak column is filled up to V0.
        assert filled.max() == pytest.approx((height - low) / (high - low) * rows, abs=0.3)
        assert filled.min() == pytest.approx((0.0 - low) / (high - low) * rows, abs=1e-6)  # V = 0 far away
        images.append(image)
    assert np.abs(images[0] - images[1]).max() == 1.0
    # 2D: grey levels of V(x, y), columns along x, rows along y.
    params = family.resolve({"ndim": 2, "n": [48, 32], "length": [24.0, 16.0], "potential_kind": "gaussian-barrier",
                             "center": 6.5, "height": 2.0, "x0": -4.0})  # fmt: skip
    image = family.render(params, size=(16, 24))[0]
    assert np.ptp(image, axis=0).max() < 1e-6  # the barrier acts along x only
    assert int(np.argmax(image[0])) == 18  # column 18 covers [6, 7)
    assert image.max() == pytest.approx((2.0 - low) / (high - low), abs=0.02)


def test_near_horizon_images_put_the_barrier_at_its_tortoise_radius():
    family = get_family("near_horizon")
    params = family.resolve({"s": 2, "l": 2, "mass": 1.2})
    image = family.render(params, size=(32, 100))
    peak = family.perturbation(params, 2).peak
    lo, hi = params["r_star_min"], params["r_star_max"]
    column = (hi - lo) / 100  # 2 M: the peaks lie within a column of their r*
    assert abs(int(np.argmax(image[0].sum(axis=0))) - (peak.r_star - lo) / column) <= 1
    assert abs(int(np.argmax(image[1].sum(axis=0))) - (params["center"] - lo) / column) <= 1  # the pulse
    # Magnitude: rows are uniform in sqrt(V), so the peak column reaches sqrt(V_peak / IMAGE_POTENTIAL_MAX).
    assert image[0].sum(axis=0).max() / 32 == pytest.approx(np.sqrt(peak.height / IMAGE_POTENTIAL_MAX), rel=0.02)


def test_spacetime_images_equal_the_simulated_fields():
    family = get_family("spacetime")
    params = family.resolve({"pixels": 12, "extent": 6.0, "spin": 0.9, "charge": 0.3})
    fields = family.simulate(params, np.array([0.0, 1.0])).fields  # indexed [x, z]
    image = family.render(params, size=(12, 12))  # indexed [z, x]
    outside = fields["outside"].T > 0
    np.testing.assert_array_equal(image[2] > 0.5, outside)
    expected = np.clip((fields["g_tt"].T + 1) / 2, 0, 1) * outside
    np.testing.assert_allclose(image[1], expected, atol=1e-6)


def test_collapse_images_peak_at_the_shell_radius():
    family = get_family("collapse")
    params = family.resolve({"p_over_pstar": 1.1, "center": 5.0, "width": 1.0})
    image = family.render(params, size=(40, 78))[0]  # r0 = 5 is the centre of column 19 of [0, 20]
    assert int(np.argmax(image.sum(axis=0))) == 19
    assert image.sum(axis=0).max() / 40 == pytest.approx(params["amplitude"] / IMAGE_PHI_MAX, rel=0.01)


# -- tokenizer ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    texts = [caption(name, seed=seed, **extra) for name, extra in VARIANTS for seed in range(8)]
    return Tokenizer.train(texts, vocab_size=400)


def test_every_digit_is_its_own_token(tokenizer):
    for text in ("M = 1.45", "r* = 123.456 M, a/M = -0.973", "9876543210"):
        ids = tokenizer.encode(text)
        pieces = [tokenizer.decode([i]) for i in ids]
        assert "".join(pieces) == text
        assert all(len(p) == 1 for p in pieces if any(c.isdigit() for c in p)), pieces
    assert tokenizer.pad_id == 0 and tokenizer.vocab_size <= 400


def test_tokens_decode_to_the_text_and_survive_a_checkpoint(tokenizer):
    texts = [caption("near_horizon", seed=1), "Schrödinger: θ0 = 0.3 rad, |ψ|² ≈ 1 ", "unseen words 42"]
    batch = tokenizer.encode_batch(texts, length=200)
    assert batch.shape == (3, 200) and batch.dtype == torch.int64
    assert [tokenizer.decode(row) for row in batch] == texts
    assert batch[0, 0] == tokenizer.bos_id and (batch[0] == tokenizer.pad_id).any()
    buffer = io.BytesIO()
    torch.save({"tokenizer": tokenizer.to_json()}, buffer)
    buffer.seek(0)
    loaded = Tokenizer.from_json(torch.load(buffer, weights_only=True)["tokenizer"])
    assert torch.equal(loaded.encode_batch(texts, length=200), batch) and loaded == tokenizer


def test_a_text_longer_than_the_context_is_an_error(tokenizer):
    text = caption("schrodinger")
    n = len(tokenizer.encode(text)) + 2
    assert tokenizer.encode_batch([text], length=n).shape == (1, n)
    with pytest.raises(ValueError, match=f"text 0 needs {n} tokens.*length = {n - 1}"):
        tokenizer.encode_batch([text], length=n - 1)
    with pytest.raises(ValueError, match="vocab_size = 100 is invalid"):
        Tokenizer.train(["abc"], vocab_size=100)


# -- parameters read back and the sample transform -------------------------------------


@pytest.mark.parametrize("name", sorted(list_configs()))
def test_stored_parameters_read_back_as_resolved(name, tmp_path):
    config = load_config(name).with_trajectories(6)
    family, plan, shared = resolve_plan(config)
    path = create_store(  # the parameters are written at creation: nothing needs simulating
        tmp_path / "store.h5", dataset_name=family.dataset_name, family=family.name,
        layout=family.layout(shared, config.times), times=config.times, parameters=family.parameters,
        table=[{k: v for k, v in p.items() if not family.parameters[k].shared} for p in plan.parameters],
        shared=shared, splits=plan.splits, checks=family.checks, config=config.to_json(),
    )  # fmt: skip
    back = read_parameters(path)
    assert back == plan.parameters
    integers = [k for k, spec in family.parameters.items() if spec.integer and back[0][k] is not None]
    assert all(type(row[k]) is int for row in back for k in integers)  # e.g. near_horizon's s and l
    modalities = Modalities(path, image_size=(8, 8))
    sample = modalities({"trajectory": torch.tensor(5)})
    assert sample["text"] == family.caption(plan.parameters[5], rng=np.random.default_rng([0, 5]))
    assert sample["image"].shape == (len(modalities.image_channels), 8, 8)


def test_samples_carry_text_tokens_and_images(tiny_dataset, tokenizer):
    family = get_family("schrodinger")
    train = file_descriptions(tiny_dataset, split="train", phrasings=3)
    data = WindowDataset(tiny_dataset, split="train")
    assert len(train) == 3 * len(data.trajectories)
    modalities = Modalities(tiny_dataset, image_size=(24, 32), tokenizer=tokenizer, text_length=160, seed=4)
    data = WindowDataset(tiny_dataset, split="train", transforms=[modalities])
    params = read_parameters(tiny_dataset)
    first, second = data[0], data[1]  # two windows of one trajectory
    trajectory = int(first["trajectory"])
    assert int(second["trajectory"]) == trajectory and first["text"] == second["text"]
    assert first["text"] == family.caption(params[trajectory], rng=np.random.default_rng([4, trajectory]))
    assert tokenizer.decode(first["text_tokens"]) == first["text"] and first["text_tokens"].shape == (160,)
    np.testing.assert_array_equal(first["image"].numpy(), family.render(params[trajectory], size=(24, 32)))
    assert first["image"].dtype == torch.float32 and first["image"].shape == (1, 24, 32)
    batch = next(iter(torch.utils.data.DataLoader(pickle.loads(pickle.dumps(data)), batch_size=4)))
    assert batch["image"].shape == (4, 1, 24, 32) and batch["text_tokens"].shape == (4, 160) and len(batch["text"]) == 4
    # Training: a fresh phrasing per sample, reproducible from torch's seed.
    varying = Modalities(tiny_dataset, vary=True)
    torch.manual_seed(0)
    texts = [varying({"trajectory": torch.tensor(trajectory)})["text"] for _ in range(30)]
    torch.manual_seed(0)
    assert texts == [varying({"trajectory": torch.tensor(trajectory)})["text"] for _ in range(30)]
    assert len(set(texts)) >= 3
    assert set(texts) <= set(file_descriptions(tiny_dataset, split=None, phrasings=60))


def test_bad_modality_options_name_the_problem(tiny_dataset, tokenizer):
    with pytest.raises(ValueError, match="text_length = 1 is invalid"):
        Modalities(tiny_dataset, text_length=1)
    with pytest.raises(ValueError, match="tokenizer is invalid with text = False"):
        Modalities(tiny_dataset, text=False, tokenizer=tokenizer)
    with pytest.raises(ValueError, match="size"):
        Modalities(tiny_dataset, image_size=(0, 8))
    short = Modalities(tiny_dataset, tokenizer=tokenizer, text_length=8)
    with pytest.raises(ValueError, match="more than length = 8"):
        short({"trajectory": torch.tensor(0)})
