"""The multimodal transformer with its attention or its MLP swapped: GRU, LSTM, Mamba-style SSM, mixture of experts.

All four keep everything of :class:`~physml.models.MultimodalTransformer` but
one part of each block, so the architecture study compares mixers, not
tokenisers or heads: the same field patches, text tokens and image patches,
the same head that starts at zero, the same ``(B, C_in, *space) -> (B, C_out,
*space)`` interface and the same configs plus their own options.

* ``gru``, ``lstm`` (:class:`GRUModel`, :class:`LSTMModel`): a recurrent scan
  along the token sequence (field patches in raster order, then text, then
  image), bidirectional by default;
* ``ssm`` (:class:`SSMModel`): Mamba's selective scan (:class:`SelectiveSSMMixer`);
* ``moe_transformer`` (:class:`MoETransformer`): attention, and top-k routed
  experts in place of the SwiGLU; its balancing loss reaches the trainer
  through :meth:`MoETransformer.auxiliary_losses`.

A causal scan model (``causal = True``, ``bidirectional = False``) forecasts a
1D series: the output at patch ``i`` reads patches ``<= i``. It also runs as a
recurrence, one patch at a time from a carried state (:meth:`MultimodalTransformer.step`),
with the numbers of the parallel forward pass: constant cost per step, where a
transformer's, from its key/value cache, grows with the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from physml.models.mixers import MixtureOfExperts, RecurrentMixer, SelectiveSSMMixer
from physml.models.multimodal import MultimodalConfig, MultimodalTransformer, TransformerBlock
from physml.models.registry import register_model

__all__ = [
    "GRUConfig",
    "GRUModel",
    "LSTMConfig",
    "LSTMModel",
    "MoEConfig",
    "MoETransformer",
    "SSMConfig",
    "SSMModel",
    "ScanModel",
]


@dataclass(frozen=True)
class ScanConfig(MultimodalConfig):
    """A :class:`MultimodalConfig` whose mixer is a scan: ``bidirectional`` (default) or, with ``causal``, forward.

    The attention options (``n_heads``, ``n_kv_heads``, ``window``, ``attention``,
    ``rope_base``) do nothing here; a ``window`` is refused.
    """

    bidirectional: bool = True
    attends: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check(isinstance(self.bidirectional, bool), "bidirectional", "true or false")
        self._check(self.window == 0, "window", "0 (a scan has no attention window)")
        self._check(not (self.causal and self.bidirectional), "bidirectional",
                    "false with causal = true (a causal scan cannot read later tokens)")  # fmt: skip
        self._check(self.bidirectional or not self.modalities, "bidirectional",
                    f"true with modalities = {self.modalities} (text and image come after the fields)")  # fmt: skip


@dataclass(frozen=True)
class GRUConfig(ScanConfig):
    """Architecture of a :class:`GRUModel` (see :class:`ScanConfig`)."""

    cell: ClassVar[str] = "gru"


@dataclass(frozen=True)
class LSTMConfig(ScanConfig):
    """Architecture of an :class:`LSTMModel` (see :class:`ScanConfig`)."""

    cell: ClassVar[str] = "lstm"


@dataclass(frozen=True)
class SSMConfig(ScanConfig):
    """Architecture of an :class:`SSMModel`: ``d_state`` states per channel, ``expand * dim`` channels inside
    the scan, a causal convolution of ``d_conv`` taps before it (see :class:`ScanConfig`)."""

    d_state: int = 16
    expand: int = 2
    d_conv: int = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("d_state", "expand", "d_conv"):
            value = getattr(self, name)
            self._check(isinstance(value, int) and value >= 1, name, "an int >= 1")


class ScanModel(MultimodalTransformer):
    """:class:`MultimodalTransformer` whose blocks mix tokens by a scan (causal ones :meth:`step` from its state).

    A scan reads every token it is given, so a missing modality must be left out,
    not masked: modality dropout drops a modality for the whole batch (its tokens
    left out, exactly as when it is not given). Text pad tokens are read as zero
    tokens, so the text is padded to ``text_length`` first: a sample's prediction
    then never depends on the length of its batch's longest description.
    """

    def forward(self, x: torch.Tensor, **inputs: torch.Tensor | None) -> torch.Tensor:
        text = inputs.get("text")
        if text is not None and text.ndim == 2 and text.shape[1] < self.config.text_length:
            inputs["text"] = torch.nn.functional.pad(text, (0, self.config.text_length - text.shape[1]))  # pad id 0
        p = self.config.modality_dropout
        for name in self.config.missing_ok if self.training and p > 0 else ():
            if inputs.get(name) is not None and float(torch.rand(())) < p:
                inputs[name] = None
        return super().forward(x, **inputs)

    def _kept(self, modality: str, batch: int, device: torch.device) -> torch.Tensor:
        return torch.ones(batch, dtype=torch.bool, device=device)  # dropout is per batch: see forward

    def make_mixer(self, config: ScanConfig) -> nn.Module:
        raise NotImplementedError

    def make_block(self, config: MultimodalConfig) -> nn.Module:
        return TransformerBlock(config, mixer=self.make_mixer(config))


@register_model("gru", GRUConfig)
class GRUModel(ScanModel):
    """:class:`MultimodalTransformer` with a GRU in place of attention (see :mod:`physml.models.sequence`).

    Examples
    --------
    >>> model = GRUModel(GRUConfig(2, 2, field_size=(64,), dim=32, depth=2, modalities=(), missing_ok=()))
    >>> model(torch.randn(3, 2, 64)).shape
    torch.Size([3, 2, 64])
    """

    def make_mixer(self, config: ScanConfig) -> nn.Module:
        return RecurrentMixer("gru", config.dim, bidirectional=config.bidirectional)


@register_model("lstm", LSTMConfig)
class LSTMModel(ScanModel):
    """:class:`MultimodalTransformer` with an LSTM in place of attention (see :mod:`physml.models.sequence`)."""

    def make_mixer(self, config: ScanConfig) -> nn.Module:
        return RecurrentMixer("lstm", config.dim, bidirectional=config.bidirectional)


@register_model("ssm", SSMConfig)
class SSMModel(ScanModel):
    """:class:`MultimodalTransformer` with Mamba's selective scan in place of attention.

    Examples
    --------
    >>> config = SSMConfig(1, 1, field_size=(64,), dim=32, depth=2, modalities=(), missing_ok=(), causal=True,
    ...                    bidirectional=False)
    >>> SSMModel(config)(torch.randn(3, 1, 64)).shape
    torch.Size([3, 1, 64])
    """

    def make_mixer(self, config: SSMConfig) -> nn.Module:
        return SelectiveSSMMixer(config.dim, d_state=config.d_state, expand=config.expand, d_conv=config.d_conv,
                                 bidirectional=config.bidirectional)  # fmt: skip


@dataclass(frozen=True)
class MoEConfig(MultimodalConfig):
    """Architecture of a :class:`MoETransformer`: each block's SwiGLU becomes ``n_experts`` SwiGLU experts of
    ``int(mlp_ratio * dim)`` hidden units, ``top_k`` per token, with ``capacity_factor`` times the fair share
    of tokens per expert in training; ``balance_weight`` scales the load-balancing loss."""

    n_experts: int = 8
    top_k: int = 2
    capacity_factor: float = 1.25
    balance_weight: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check(isinstance(self.n_experts, int) and self.n_experts >= 1, "n_experts", "an int >= 1")
        top_k_fits = isinstance(self.top_k, int) and 1 <= self.top_k <= self.n_experts
        self._check(top_k_fits, "top_k", f"an int in 1 .. n_experts = {self.n_experts} (no more than there are)")
        self._check(self.capacity_factor > 0, "capacity_factor", "> 0")
        self._check(self.balance_weight >= 0, "balance_weight", ">= 0")


@register_model("moe_transformer", MoEConfig)
class MoETransformer(MultimodalTransformer):
    """:class:`MultimodalTransformer` whose blocks route each token to ``top_k`` of ``n_experts`` MLPs.

    After each forward pass, :meth:`auxiliary_losses` gives the weighted
    balancing loss (mean over the blocks and over the calls since it was last
    read: a rollout of several steps calls the model several times) and
    :meth:`auxiliary_metrics` the experts' utilisation.

    Examples
    --------
    >>> model = MoETransformer(MoEConfig(2, 2, field_size=(64,), dim=32, depth=2, modalities=(), missing_ok=(),
    ...                                      n_experts=4))
    >>> model(torch.randn(3, 2, 64)).shape
    torch.Size([3, 2, 64])
    >>> sorted(model.auxiliary_losses())
    ['balance']
    """

    #: Names of the trainer's extra loss terms and logged metrics (physml.training.trainer reads them).
    auxiliary_terms = ("balance",)
    auxiliary_metric_names = ("expert_load_max", "expert_dropped")

    def __init__(self, config: MoEConfig) -> None:
        super().__init__(config)
        self._calls: list[dict[str, torch.Tensor]] = []  # training calls since auxiliary_losses() last read them
        self._read: list[dict[str, torch.Tensor]] = []  # the calls auxiliary_losses() read last

    def make_block(self, config: MoEConfig) -> nn.Module:
        experts = MixtureOfExperts(config.dim, int(config.mlp_ratio * config.dim), n_experts=config.n_experts,
                                   top_k=config.top_k, capacity_factor=config.capacity_factor,
                                   causal=config.causal)  # fmt: skip
        return TransformerBlock(config, mlp=experts)

    def forward(self, x: torch.Tensor, **inputs: torch.Tensor | None) -> torch.Tensor:
        out = super().forward(x, **inputs)
        if self.training:  # (the newest 64 only, should nothing read them)
            self._calls = [*self._calls[-63:], self._gather()]
        return out

    def _gather(self) -> dict[str, torch.Tensor]:
        stats = [block.mlp.last for block in self.blocks]
        return {
            "balance": torch.stack([s["balance"] for s in stats]).mean(),
            "load": torch.stack([s["load"] for s in stats]),  # (depth, E)
            "dropped": torch.stack([s["dropped"] for s in stats]).mean(),
        }

    def auxiliary_losses(self) -> dict[str, torch.Tensor]:
        """``{"balance": balance_weight * mean balancing loss}`` over the training calls since the last read
        (then forgotten); the last call's, in evaluation mode."""
        calls, self._calls = self._calls or [self._gather()], []
        self._read = calls
        return {"balance": self.config.balance_weight * torch.stack([c["balance"] for c in calls]).mean()}

    def auxiliary_metrics(self) -> dict[str, float]:
        """Utilisation over the calls of the last :meth:`auxiliary_losses`: ``expert_load_max``, the busiest
        expert's share times ``n_experts`` (1: even; ``n_experts / top_k``: every token to the same experts), and
        ``expert_dropped``, the share of assignments over capacity."""
        calls = self._read or [self._gather()]
        load = torch.stack([c["load"] for c in calls]).mean(dim=0)  # (depth, E)
        return {
            "expert_load_max": float(load.amax() * self.config.n_experts),
            "expert_dropped": float(torch.stack([c["dropped"] for c in calls]).mean()),
        }
