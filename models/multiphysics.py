"""One transformer for several physics families: a shared trunk, and each family's own way in and out.

Each family (``schrodinger``, ``near_horizon``, ``collapse``, ...) brings fields on its own grid with its own
channels: ``(B, C_in_f, X_f)`` in, ``(B, C_out_f, X_f)`` out, cut into patches of ``patch_f``. The model holds one
:class:`~physml.models.MultimodalTransformer` per family whose transformer blocks, final norm, text embedding
and modality rows are one and the same (the *trunk*), while the field patch embedding, the output head and the
image embedding (pictures differ in channels between families) are the family's own. The family's patch
embedding tells the trunk which physics it reads (its bias is in effect a learned family token); the description,
when given as text, tells it in words. This is the multiple-physics pretraining recipe (one trunk across systems,
per-system embeddings), in the multimodal model physml already has, with rotary positions along each family's
own patches.

Weights are saved once: the checkpoint holds ``trunk.*`` and each family's ``members.<family>.*`` own parts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from physml.models.multimodal import MultimodalConfig, MultimodalTransformer
from physml.models.multimodal_config import DEFAULT_MODALITIES
from physml.models.registry import register_model

__all__ = ["PER_FAMILY", "SHARED", "MultiphysicsConfig", "MultiphysicsTransformer"]

#: The parts of each member that are the trunk's (one set of weights for every family).
SHARED = ("blocks", "norm", "text_embed", "modality")
#: The config options that give one value per family (the others are the trunk's).
PER_FAMILY = ("in_channels", "out_channels", "field_size", "patch", "image_channels")


@dataclass(frozen=True)
class MultiphysicsConfig:
    """Architecture of a :class:`MultiphysicsTransformer`.

    ``families`` names the families; ``in_channels``, ``out_channels``, ``field_size`` (points of each family's
    1D grid), ``patch`` and ``image_channels`` (of its pictures) give one value per family, in that order. The
    remaining options are the trunk's, as in :class:`~physml.models.MultimodalConfig`.
    """

    families: tuple[str, ...]
    in_channels: tuple[int, ...]
    out_channels: tuple[int, ...]
    field_size: tuple[int, ...]
    patch: tuple[int, ...]
    dim: int = 64
    depth: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2
    mlp_ratio: float = 8 / 3
    vocab_size: int = 512
    text_length: int = 64
    image_channels: tuple[int, ...] = ()
    image_size: tuple[int, int] = (32, 32)
    image_patch: int = 8
    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    missing_ok: tuple[str, ...] = DEFAULT_MODALITIES
    modality_dropout: float = 0.1
    dropout: float = 0.0
    rope_base: float = 10000.0
    init_std: float = 0.02
    attention: str = "sdpa"
    norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        for name in ("families", *PER_FAMILY, "image_size", "modalities", "missing_ok"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.image_channels:  # pictures of 3 channels (RGB), as the single-family model assumes
            object.__setattr__(self, "image_channels", (3,) * len(self.families))
        names = self.families
        distinct = len(set(names)) == len(names) and all(isinstance(n, str) and n.isidentifier() for n in names)
        if not names or not distinct:
            raise ValueError(f"MultiphysicsConfig.families = {names!r} is invalid: must be distinct names "
                             "(identifiers), at least one")  # fmt: skip
        for name in PER_FAMILY:
            if len(getattr(self, name)) != len(names):
                raise ValueError(f"MultiphysicsConfig.{name} = {getattr(self, name)!r} is invalid: must give one "
                                 f"value per family ({len(names)}: {', '.join(names)})")  # fmt: skip
        for family in names:
            self.member(family)  # each family's model checks its own options, named

    def index(self, family: str) -> int:
        """Where ``family`` stands in the per-family options (``ValueError`` naming the families it is not)."""
        if family not in self.families:
            raise ValueError(f"family = {family!r} is invalid: this model knows {', '.join(self.families)}")
        return self.families.index(family)

    def member(self, family: str) -> MultimodalConfig:
        """The :class:`~physml.models.MultimodalConfig` of ``family``'s model (the trunk's options and its own)."""
        i = self.index(family)
        own = {name: getattr(self, name)[i] for name in PER_FAMILY}
        own["field_size"] = (self.field_size[i],)  # (a 1D grid)
        trunk = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in (*own, "families")}
        try:
            return MultimodalConfig(**own, **trunk)
        except ValueError as exc:
            raise ValueError(f"family {family!r}: {exc}") from None


@register_model("multiphysics_transformer", MultiphysicsConfig)
class MultiphysicsTransformer(nn.Module):
    """Next fields of any of several families: ``forward(x, *, family, text=None, image=None)``.

    ``x`` is ``(B, C_in_f, X_f)`` for ``family``; returns ``(B, C_out_f, X_f)``. A batch holds one family.

    Examples
    --------
    >>> config = MultiphysicsConfig(("waves", "quanta"), (2, 3), (1, 2), (60, 64), (3, 4), dim=32, depth=2,
    ...                             modalities=(), missing_ok=())
    >>> model = MultiphysicsTransformer(config)
    >>> model(torch.randn(5, 3, 64), family="quanta").shape
    torch.Size([5, 2, 64])
    """

    def __init__(self, config: MultiphysicsConfig) -> None:
        super().__init__()
        self.config = config
        members = {family: MultimodalTransformer(config.member(family)) for family in config.families}
        first = members[config.families[0]]
        self.trunk = nn.Module()  # the shared parts, once (the members refer to them)
        for name in SHARED:
            setattr(self.trunk, name, getattr(first, name))
        for member in members.values():
            for name in SHARED:
                setattr(member, name, getattr(self.trunk, name))
        self.members = nn.ModuleDict(members)
        self._register_state_dict_hook(_without_copies)
        self._register_load_state_dict_pre_hook(_with_copies)

    def forward(
        self, x: torch.Tensor, *, family: str, text: torch.Tensor | None = None, image: torch.Tensor | None = None
    ) -> torch.Tensor:
        self.config.index(family)  # (an unknown one is named)
        return self.members[family](x, text=text, image=image)


def _shared(key: str, prefix: str) -> bool:
    """Whether ``key`` is a member's reference to a trunk weight (``members.<family>.<shared part>...``)."""
    parts = key[len(prefix) :].split(".")
    return len(parts) > 2 and parts[0] == "members" and parts[2] in SHARED


def _without_copies(module: nn.Module, state: dict[str, Any], prefix: str, *_: Any) -> None:
    """Save the trunk once: drop the members' references to it."""
    for key in [k for k in state if k.startswith(prefix) and _shared(k, prefix)]:
        del state[key]


def _with_copies(state: dict[str, Any], prefix: str, *_: Any) -> None:
    """Load the trunk into every member's reference to it (the same tensors: loading once would do, but
    ``load_state_dict`` checks every key it expects)."""
    trunk, members = prefix + "trunk.", prefix + "members."
    families = {k[len(members) :].split(".")[0] for k in state if k.startswith(members)}
    for key in [k for k in state if k.startswith(trunk)]:
        for family in families:
            state[f"{members}{family}.{key[len(trunk) :]}"] = state[key]
