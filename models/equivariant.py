"""An E(2)-steerable residual CNN (escnn): rotations and reflections of the input rotate and reflect the output.

The Schrödinger equation commutes with rotations and reflections when the potential turns with the wave
function; a model that is equivariant by construction need not learn it from data. Scalar fields (Re ψ,
Im ψ, V) enter as trivial representations of the group, hidden features are regular representations (one
channel per group element: pointwise nonlinearities stay equivariant), and the output is scalar fields again:

    lift (R2Conv, kernel 1) -> n_blocks x [v + conv(ReLU(conv(v)))] -> project (R2Conv, kernel 1)

``group``: ``"rotations"`` (Cₙ, ``gspaces.rot2dOnR2(N)``) or ``"rotations+reflections"`` (Dₙ,
``gspaces.flipRot2dOnR2(N)``). On a square grid the 90° rotations and the reflections are exact grid
permutations, so Cₙ/Dₙ with N dividing 4 are exact to round-off; other N (e.g. 8) rely on the filters'
interpolation and are equivariant only approximately. Convolutions pad circularly (``padding``: periodic boxes)
or with zeros (open boxes that waves leave); the grid actions commute with either.

:meth:`EquivariantCNN.export` returns a plain ``torch.nn`` module with the same outputs (escnn's own export of
each layer, with the steerable filters expanded once) for fast inference without escnn's bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from physml.models.registry import register_model
from physml.optional import require_escnn

__all__ = ["EquivariantCNN", "EquivariantCNNConfig"]

GROUPS = ("rotations", "rotations+reflections")
#: Padding of the convolutions: periodic boxes, or open ones (waves leave the box). Both commute with the grid's
#: rotations and reflections.
PADDINGS = ("circular", "zeros")
#: Field types and their channels.
FIELD_TYPES = {"scalar": 1, "vector": 2}


@dataclass(frozen=True)
class EquivariantCNNConfig:
    """An :class:`EquivariantCNN`: group and its order ``N``, regular fields per layer, depth and kernel.

    ``width``: regular-representation fields per hidden layer (``N`` channels each for Cₙ, ``2N`` for Dₙ).
    ``padding``: ``"circular"`` (periodic boxes) or ``"zeros"`` (open ones).
    ``field_size``: the grid (filled in from the data); a group with 90° rotations needs it square.
    ``in_types``, ``out_types``: how the input and output channels transform, in order: ``"scalar"`` (one
    channel, unchanged by the group: ψ's parts, a potential) or ``"vector"`` (two channels, the components along
    the grid's two axes, turned with the grid: a velocity, a gradient). Empty: every channel a scalar.
    """

    in_channels: int
    out_channels: int
    group: str = "rotations+reflections"
    N: int = 4
    width: int = 8
    n_blocks: int = 4
    kernel_size: int = 5
    field_size: tuple[int, ...] = ()
    in_types: tuple[str, ...] = ()
    out_types: tuple[str, ...] = ()
    padding: str = "circular"

    def __post_init__(self) -> None:
        for name in ("field_size", "in_types", "out_types"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        self._check(self.group in GROUPS, "group", f"one of {', '.join(GROUPS)}")
        self._check(isinstance(self.N, int) and self.N >= 1, "N", "an integer >= 1 (the order of the rotations)")
        for name in ("in_channels", "out_channels", "width", "n_blocks"):
            self._check(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name, "an integer >= 1")
        self._check(self.kernel_size >= 1 and self.kernel_size % 2 == 1, "kernel_size", "odd and >= 1")
        self._check(self.padding in PADDINGS, "padding", f"one of {', '.join(PADDINGS)}")
        for name, channels in (("in_types", self.in_channels), ("out_types", self.out_channels)):
            types = getattr(self, name)
            self._check(all(t in FIELD_TYPES for t in types), name, f"a list of {' / '.join(FIELD_TYPES)}")
            declared = sum(FIELD_TYPES[t] for t in types)
            allowed = f"types covering the {channels} channels (a vector takes 2); these cover {declared}"
            self._check(not types or declared == channels, name, allowed)
        if self.field_size:
            self._check(len(self.field_size) == 2, "field_size", "a 2-D grid (height, width)")
            square = self.field_size[0] == self.field_size[1]
            self._check(square or self.N % 4 != 0, "field_size",
                        f"square for a group with 90° rotations (N = {self.N}): rotating a non-square grid "
                        "does not map it onto itself")  # fmt: skip

    def _check(self, ok: bool, name: str, allowed: str) -> None:
        if not ok:
            raise ValueError(f"{type(self).__name__}.{name} = {getattr(self, name)!r} is invalid: must be {allowed}")


def _gspace(config: EquivariantCNNConfig):
    gspaces = require_escnn().gspaces
    if config.group == "rotations":
        return gspaces.rot2dOnR2(N=config.N)
    return gspaces.flipRot2dOnR2(N=config.N)


class VectorOrder(nn.Module):
    """A vector's components between the grid's order and escnn's.

    A vector field here is ``(v along axis -2, v along axis -1)``, the order of the array's axes
    (``physml.datasets.symmetry`` calls them x and y). escnn's plane representation reads the pair as
    ``(v along axis -1, -v along axis -2)``: its reflection mirrors axis -1 and negates its first component. In
    the grid's order quarter turns agree, but every reflection would come out wrong. ``inverse`` maps back.
    Scalars pass unchanged.
    """

    def __init__(self, types: tuple[str, ...], *, inverse: bool) -> None:
        super().__init__()
        order, sign, c = [], [], 0
        for kind in types:
            if kind == "vector":  # escnn = (v1, -v0); back: (v0, v1) = (-e1, e0)
                order += [c + 1, c]
                sign += [-1.0, 1.0] if inverse else [1.0, -1.0]
            else:
                order.append(c)
                sign.append(1.0)
            c += FIELD_TYPES[kind]
        self.active = "vector" in types
        self.register_buffer("order", torch.tensor(order, dtype=torch.long), persistent=False)
        self.register_buffer("sign", torch.tensor(sign).view(-1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.order] * self.sign.to(x.dtype) if self.active else x


class _Block(nn.Module):
    """``v -> v + conv(ReLU(conv(v)))`` on regular fields."""

    def __init__(self, hidden, kernel_size: int, padding: str) -> None:
        super().__init__()
        enn = require_escnn().nn
        conv = {"kernel_size": kernel_size, "padding": kernel_size // 2, "padding_mode": padding}
        self.first = enn.R2Conv(hidden, hidden, **conv)
        self.act = enn.ReLU(hidden)
        self.second = enn.R2Conv(hidden, hidden, **conv)
        with torch.no_grad():  # every block starts as the identity (see EquivariantCNN)
            self.second.weights.zero_()

    def forward(self, v):
        return v + self.second(self.act(self.first(v)))


@register_model("equivariant_cnn", EquivariantCNNConfig)
class EquivariantCNN(nn.Module):
    """``(B, C_in, H, W) -> (B, C_out, H, W)``, equivariant to the configured rotations (and reflections).

    Examples
    --------
    >>> model = EquivariantCNN(EquivariantCNNConfig(3, 2, N=4, width=2, n_blocks=1, kernel_size=3)).he_init()
    >>> x = torch.randn(1, 3, 16, 16)
    >>> bool(torch.allclose(model(x.rot90(1, (-2, -1))), model(x).rot90(1, (-2, -1)), atol=1e-5))
    True
    """

    def __init__(self, config: EquivariantCNNConfig) -> None:
        super().__init__()
        self.config = config
        enn = require_escnn().nn
        gspace = _gspace(config)
        representation = {"scalar": gspace.trivial_repr, "vector": gspace.basespace_action}
        in_types = config.in_types or config.in_channels * ("scalar",)
        out_types = config.out_types or config.out_channels * ("scalar",)
        self.in_type = enn.FieldType(gspace, [representation[t] for t in in_types])
        hidden = enn.FieldType(gspace, config.width * [gspace.regular_repr])
        self.out_type = enn.FieldType(gspace, [representation[t] for t in out_types])
        self.into_escnn, self.from_escnn = VectorOrder(in_types, inverse=False), VectorOrder(out_types, inverse=True)
        self.lift = enn.SequentialModule(enn.R2Conv(self.in_type, hidden, kernel_size=1), enn.ReLU(hidden))
        self.blocks = nn.ModuleList(_Block(hidden, config.kernel_size, config.padding) for _ in range(config.n_blocks))
        self.project = enn.R2Conv(hidden, self.out_type, kernel_size=1)
        # Zero residual branches and a zero projection at start (as in Fixup / ReZero): escnn's He initialisation
        # doubles the signal's variance per block, which put the untrained recipe model's output at 3x the data's
        # scale and its first loss at 190x the plain ResNet's. Zeroed, a residual surrogate starts as persistence.
        with torch.no_grad():
            self.project.weights.zero_()
        self.train()  # (escnn caches expanded filters as buffers outside training: start without them)

    @torch.no_grad()
    def he_init(self) -> EquivariantCNN:
        """Draw every layer's weights from escnn's generalised He initialisation, the zeroed ones too; ``self``.

        For probing what the architecture guarantees with all of its layers active (at construction the residual
        branches and the projection are zero, and the untrained model is pointwise).
        """
        enn = require_escnn().nn
        training = self.training
        self.train()  # (drops the filters escnn caches in eval mode: they would keep the old weights)
        for module in self.modules():
            if isinstance(module, enn.R2Conv):
                enn.init.generalized_he_init(module.weights.data, module.basisexpansion)
        return self.train(training)

    def state_dict(self, *args, **kwargs):
        """The weights only: the filters escnn expands and caches in eval mode are derived, not saved."""
        training = self.training
        self.train()
        try:
            return super().state_dict(*args, **kwargs)
        finally:
            self.train(training)

    def load_state_dict(self, state_dict, *args, **kwargs):
        training = self.training
        self.train()  # the weights' own layout; eval mode then expands the filters from them
        try:
            return super().load_state_dict(state_dict, *args, **kwargs)
        finally:
            self.train(training)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(f"x has shape {tuple(x.shape)}: need (B, {self.config.in_channels}, H, W)")
        v = self.lift(require_escnn().nn.GeometricTensor(self.into_escnn(x), self.in_type))
        for block in self.blocks:
            v = block(v)
        return self.from_escnn(self.project(v).tensor)

    @torch.no_grad()
    def export(self) -> nn.Module:
        """A plain ``torch.nn`` module with the same outputs (for inference; call after training)."""
        was_training = self.training
        self.eval()
        try:
            return _Exported(self)
        finally:
            self.train(was_training)


def _export_conv(conv) -> nn.Conv2d:
    """escnn's export of an ``R2Conv``, keeping its padding mode (escnn's drops it: zeros instead of circular)."""
    exported = conv.export()
    exported.padding_mode = conv.padding_mode
    return exported


class _ExportedBlock(nn.Module):
    def __init__(self, block: _Block) -> None:
        super().__init__()
        self.first, self.act, self.second = _export_conv(block.first), block.act.export(), _export_conv(block.second)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return v + self.second(self.act(self.first(v)))


class _Exported(nn.Module):
    """The exported twin: plain convolutions with the expanded filters, in the same order."""

    def __init__(self, model: EquivariantCNN) -> None:
        super().__init__()
        self.into_escnn, self.from_escnn = model.into_escnn, model.from_escnn
        self.lift = model.lift.export()
        self.blocks = nn.Sequential(*(_ExportedBlock(b) for b in model.blocks))
        self.project = model.project.export()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_escnn(self.project(self.blocks(self.lift(self.into_escnn(x)))))
