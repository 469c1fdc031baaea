"""Growing a trained transformer: a wider and deeper model that starts as the one it grew from (Net2Net).

Chen, Goodfellow & Shlens (2016) grow a trained network into a larger one whose new units are initialised so that
it computes the same function; training then continues from the small model's error instead of from scratch.
:func:`grow` does this for :class:`~physml.models.MultimodalTransformer` (softmax or linear attention, any inputs):

* **wider** (``dim`` ``d -> d'``): the residual stream gains ``d' - d`` channels that start at zero. Everything
  that writes into the stream (field, text, image and video embeddings, the modality rows, each block's attention output
  and MLP down-projection) writes zeros there; everything that reads the stream through a norm gets fresh
  weights on the new channels, which read zeros: the first step moves the writers, the second the readers. The
  attention gains heads of the same ``head_dim`` (the rotary frequencies, which depend on ``head_dim``, stay as
  they were) and the key/value heads grow in proportion, so every old query head keeps its key/value head; the
  new heads' output columns start at zero. The SwiGLU hidden layer grows to ``int(mlp_ratio * d')`` with new units whose
  down-projection starts at zero. The RMS norm of a zero-padded stream is ``sqrt(d / d')`` times the old one,
  so the norm gains are multiplied by ``sqrt(d / d')`` and the epsilon by ``d / d'`` (``norm_eps``): the
  normalised values are then equal exactly, epsilon included.
* **deeper** (``depth`` ``L -> L'``): ``L' - L`` new blocks, spread between the old ones, each with its attention
  output and MLP down-projection at zero, so each starts as the identity (the residual stream passes through).

Everything that is neither copied nor set to zero keeps the large model's own random initialisation (symmetry is
broken by those weights, not by noise on the copied ones, so the grown model starts exactly equal to the small
one). Any other difference between the two configs has no such rule: :func:`grow` then raises, naming the options
and the weights that do not fit.

:func:`load_into` puts trained weights into the model a new run builds: the same architecture takes them as they
are, a larger transformer grows from them, and a :class:`~physml.models.MultiphysicsTransformer` takes another's
trunk and the parts of the families both know (a new family starts from its own fresh embedding and head: transfer
to new physics).
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from physml.models.checkpoint import mismatched
from physml.models.multimodal import MultimodalConfig, MultimodalTransformer
from physml.models.multiphysics import PER_FAMILY, MultiphysicsTransformer
from physml.models.registry import config_changes

__all__ = ["grow", "grown_config", "load_into"]

#: Options a grown model may change: its size, and what only training reads.
TRAINING_ONLY = ("init_std", "dropout", "modality_dropout")
GROWABLE = ("dim", "depth", "n_heads", "n_kv_heads", "mlp_ratio", "norm_eps", *TRAINING_ONLY)


def grown_config(small: MultimodalConfig, large: MultimodalConfig) -> MultimodalConfig:
    """``large`` with the head counts and norm epsilon that make it a function-preserving growth of ``small``.

    ``large.n_heads`` and ``n_kv_heads`` must keep ``small``'s ``head_dim`` and heads per key/value head (they are
    filled in when ``large`` keeps ``small``'s counts); ``norm_eps`` is set to ``small.norm_eps * d / d'``.
    Raises ``ValueError`` naming every option that cannot grow, and the weights it changes.
    """
    if type(small) is not MultimodalConfig or type(large) is not MultimodalConfig:  # (not its GRU, SSM, MoE kin)
        raise ValueError(
            f"cannot grow a {type(small).__name__} into a {type(large).__name__}: growth is defined for "
            "multimodal_transformer (attention mixers), from one to a larger one"
        )
    differ = config_changes(small, large, [f.name for f in dataclasses.fields(small) if f.name not in GROWABLE])
    if small.noise_embedding and large.noise_embedding:  # the denoiser's adaptive norm has no growth rule here
        differ.append("noise_embedding: True -> True")
    if differ:
        raise ValueError(f"cannot grow the model: these options have no function-preserving rule ({', '.join(differ)})")
    head_dim, group = small.dim // small.n_heads, small.n_heads // small.n_kv_heads
    heads, kv_heads = large.n_heads, large.n_kv_heads
    if (large.n_heads, large.n_kv_heads) == (small.n_heads, small.n_kv_heads) and large.dim != small.dim:
        heads, kv_heads = large.dim // head_dim, large.dim // head_dim // group  # only dim given: keep the heads' shape
    for name, ok, wanted in (
        ("dim", large.dim >= small.dim and large.dim % (head_dim * group) == 0,
         f">= {small.dim} and a multiple of head_dim x heads per key/value head = {head_dim * group}"),
        ("depth", large.depth >= small.depth, f">= {small.depth}"),
        ("n_heads", heads * head_dim == large.dim, f"dim / head_dim = {large.dim // head_dim} (head_dim {head_dim})"),
        ("n_kv_heads", kv_heads * group == heads, f"n_heads / {group} = {heads // group} (query heads per key/value "
         "head, as in the small model)"),
        ("mlp_ratio", int(large.mlp_ratio * large.dim) >= int(small.mlp_ratio * small.dim),
         f"at least the hidden width {int(small.mlp_ratio * small.dim)} of the small model"),
    ):  # fmt: skip
        if not ok:
            raise ValueError(f"cannot grow the model: {name} = {getattr(large, name)!r} is invalid: must be {wanted}")
    eps = small.norm_eps * small.dim / large.dim
    return dataclasses.replace(large, n_heads=heads, n_kv_heads=kv_heads, norm_eps=eps)


@torch.no_grad()
def grow(model: MultimodalTransformer, config: MultimodalConfig, *, seed: int = 0) -> MultimodalTransformer:
    """A :class:`MultimodalTransformer` of ``config``'s size that computes what ``model`` computes.

    ``config`` is the larger architecture (see :func:`grown_config`, which fixes its head counts and
    ``norm_eps``); ``seed`` draws the new weights. Returns a new model on ``model``'s device and dtype, in
    training mode; ``model`` is left as it was.

    Examples
    --------
    >>> config = MultimodalConfig(2, 2, field_size=(32,), dim=32, depth=2, modalities=(), missing_ok=())
    >>> small = MultimodalTransformer(config)
    >>> _ = torch.nn.init.normal_(small.head.weight)  # (a fresh head is zero: give it something to say)
    >>> large = grow(small, dataclasses.replace(small.config, dim=48, depth=3))
    >>> x = torch.randn(1, 2, 32)
    >>> bool(torch.allclose(large(x), small(x), atol=1e-6))
    True
    """
    small = model.config
    config = grown_config(small, config)
    reference = next(model.parameters())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        large = MultimodalTransformer(config)
    large = large.to(device=reference.device, dtype=reference.dtype)
    scale = math.sqrt(small.dim / config.dim)
    old, new = model.state_dict(), large.state_dict()
    places = [round(j * config.depth / small.depth) for j in range(small.depth)]  # old block j -> places[j]
    for index in set(range(config.depth)) - set(places):  # a new block starts as the identity
        for name in ("mix.out.weight", "mlp.down.weight"):
            new[f"blocks.{index}.{name}"].zero_()
    for key, value in old.items():
        target = new[_moved(key, places)]
        _copy(key, value, target, small, config, scale)
    large.load_state_dict(new)
    return large


def _moved(key: str, places: list[int]) -> str:
    """The key of an old weight in the grown model (old block ``j`` is block ``places[j]``)."""
    if not key.startswith("blocks."):
        return key
    _, index, rest = key.split(".", 2)
    return f"blocks.{places[int(index)]}.{rest}"


def _copy(key: str, value: torch.Tensor, target: torch.Tensor, small: MultimodalConfig, large: MultimodalConfig,
          scale: float) -> None:  # fmt: skip
    """Write the old weight ``value`` into its place in ``target`` and zero what must start at zero."""
    d, head_dim = small.dim, small.dim // small.n_heads
    name = key.split(".", 2)[-1] if key.startswith("blocks.") else key
    if name.endswith("norm.weight"):  # the RMS norms: mix_norm, mlp_norm and the final norm
        target[:d] = value * scale
        target[d:] = scale
    elif name in WRITERS:  # into the stream, or from the new heads and units: zero but for the old weights
        target.zero_()
        target[_corner(value)] = value
    elif name == "mix.kv.weight":  # rows (2, H_kv, head_dim): the keys, then the values
        _halves(target, value, small.n_kv_heads * head_dim, large.n_kv_heads * head_dim, d)
    elif name == "mlp.gate_up.weight":  # rows: the gate units, then the up units
        _halves(target, value, int(small.mlp_ratio * small.dim), int(large.mlp_ratio * large.dim), d)
    elif name in ("mix.q.weight", "head.weight") or target.shape == value.shape:  # readers; the head bias, the
        target[_corner(value)] = value  # spectral skip path (independent of the width)
    else:
        raise ValueError(f"cannot grow the model: no rule for the weight {key} {tuple(value.shape)}")


#: Weights whose new entries must start at zero: they write into the residual stream (the new channels stay
#: zero), or they read the new attention heads or MLP units (which then add nothing).
WRITERS = ("field_embed.weight", "field_embed.bias", "image_embed.weight", "image_embed.bias", "video_embed.weight",
           "video_embed.bias", "text_embed.weight", "modality", "mix.out.weight", "mlp.down.weight")  # fmt: skip


def _corner(value: torch.Tensor) -> tuple[slice, ...]:
    """The leading block of a larger tensor that ``value`` fills (old units come first on every axis)."""
    return tuple(slice(0, n) for n in value.shape)


def _halves(target: torch.Tensor, value: torch.Tensor, rows: int, rows2: int, columns: int) -> None:
    """A weight of two stacked row blocks (``rows`` each, ``rows2`` in ``target``): each into its block."""
    target[:rows, :columns] = value[:rows]
    target[rows2 : rows2 + rows, :columns] = value[rows:]


def load_into(model: nn.Module, source: nn.Module, *, seed: int = 0) -> nn.Module:
    """``model``'s architecture holding ``source``'s trained weights: ``model`` itself with them copied when the
    two configs are equal, a model grown from ``source`` (:func:`grow`) when ``model`` is a larger transformer.

    Raises ``ValueError`` naming the options that differ and the weights whose shapes do not fit otherwise.
    """
    if type(model) is type(source) and model.config == source.config:
        model.load_state_dict(source.state_dict())
        return model
    if isinstance(model, MultiphysicsTransformer) and isinstance(source, MultiphysicsTransformer):
        return _transfer(model, source)
    try:
        if type(model) is not MultimodalTransformer:
            differ = config_changes(source.config, model.config)
            raise ValueError(f"a {type(model).__name__} cannot grow: growth is defined for multimodal_transformer "
                             f"(the options that differ: {', '.join(differ) or 'the model'})")  # fmt: skip
        return grow(source, model.config, seed=seed)
    except ValueError as exc:
        weights = mismatched(source.state_dict(), model.state_dict())
        raise ValueError(f"{exc}; the weights that do not fit (saved vs this model): {weights or 'none'}") from None


def _transfer(model: MultiphysicsTransformer, source: MultiphysicsTransformer) -> MultiphysicsTransformer:
    """A multi-family model with ``source``'s trunk and the own parts of the families both know; a family only
    ``model`` has keeps its fresh weights (fine-tuning to new physics). Every family of ``source`` must be in
    ``model``, with the same channels and grid, and the trunks must be alike."""
    new, old = model.config, source.config
    lost = [f for f in old.families if f not in new.families]
    if lost:
        raise ValueError(
            f"the checkpoint's families {lost} are not in this run's data ({', '.join(new.families)}): a fine-tune "
            "keeps every family its weights learnt (list them with weight 0 to leave them out of the batches)"
        )
    differ = config_changes(old, new, [f.name for f in dataclasses.fields(new)
                                       if f.name not in ("families", *PER_FAMILY, *TRAINING_ONLY)])  # fmt: skip
    for family in old.families:
        differ += [
            f"{family}.{change}" for change in config_changes(old.member(family), new.member(family), PER_FAMILY)
        ]
    if differ:
        weights = mismatched(source.state_dict(), model.state_dict())
        raise ValueError(f"cannot transfer the weights: {', '.join(differ)}; the weights that do not fit (saved vs "
                         f"this model): {weights or 'none'}")  # fmt: skip
    state = model.state_dict()
    state.update(source.state_dict())  # the trunk and the known families' own parts
    model.load_state_dict(state)
    return model
