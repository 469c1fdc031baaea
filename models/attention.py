"""Transformer parts: RMSNorm, rotary position embeddings (1D and axial 2D), SwiGLU and grouped-query attention.

Attention runs through :func:`torch.nn.functional.scaled_dot_product_attention`
(``"sdpa"``: fused kernels that never store the ``(N, N)`` weights) or through
:func:`reference_attention`, the formula written out (``"reference"``), which
the tests and ``benchmarks/attention.py`` compare it with. Both cost ``O(N^2)``
time. ``"linear"`` (:func:`linear_attention`) is a different attention, not the
same numbers: softmax replaced by a positive feature map, ``O(N)`` in time and memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ATTENTION",
    "Attention",
    "RMSNorm",
    "RotaryEmbedding",
    "SwiGLU",
    "apply_rotary",
    "grid_positions",
    "linear_attention",
    "reference_attention",
    "sdpa_attention",
    "window_mask",
]


class RMSNorm(nn.Module):
    """``x / sqrt(mean(x**2) + eps) * weight`` over the last axis (Zhang & Sennrich 2019), in float32 at least."""

    def __init__(self, dim: int, *, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        work = x.to(torch.promote_types(x.dtype, torch.float32))  # bf16 sums of squares lose the small terms
        normed = work * torch.rsqrt(work.square().mean(-1, keepdim=True) + self.eps)
        return normed.to(x.dtype) * self.weight.to(x.dtype)


@dataclass(frozen=True)
class RotaryEmbedding:
    """Rotary position angles (Su et al. 2021, RoFormer eq. 34) for integer positions, one row per token.

    A head of ``head_dim`` channels is rotated in ``head_dim // 2`` planes, plane
    ``j`` (channels ``j`` and ``j + head_dim // 2``) by an angle ``theta_j``:

    * 1D positions ``p`` ``(N,)``: ``theta_j = p * base**(-j / (head_dim/2))``;
    * 2D positions ``(row, col)`` ``(N, 2)`` (axial): the first half of the planes
      turn with ``row``, the second half with ``col``, each with the frequencies
      of a 1D rotary of ``head_dim // 2`` channels;
    * ``k``-axis positions ``(N, k)``, e.g. ``(t, y, x)`` for a video's tubelets: the planes in ``k`` consecutive
      groups as equal as can be (the first ones one plane larger), group ``a`` turning with axis ``a`` at the
      frequencies of a 1D rotary of its size.

    Rotating queries and keys makes ``q_m . k_n`` depend on ``m - n`` only (per
    axis in 2D). Tokens of different modalities may carry angles of either kind
    in one sequence: each row is that token's own rotation.

    Examples
    --------
    >>> RotaryEmbedding(8).angles(torch.tensor([[0, 1], [2, 3]])).shape
    torch.Size([2, 4])
    """

    head_dim: int
    base: float = 10000.0

    def __post_init__(self) -> None:
        if self.head_dim < 4 or self.head_dim % 4:
            raise ValueError(f"head_dim = {self.head_dim!r} is invalid: must be a positive multiple of 4")
        if self.base <= 1:
            raise ValueError(f"base = {self.base!r} is invalid: must be > 1")

    def _frequencies(self, n_planes: int, device: torch.device) -> torch.Tensor:
        exponent = torch.arange(n_planes, dtype=torch.float64, device=device) / n_planes
        return self.base**-exponent  # (n_planes,)

    def angles(self, positions: torch.Tensor) -> torch.Tensor:
        """Angles ``(N, head_dim // 2)`` in float64 for integer ``positions`` ``(N,)`` (1D) or ``(N, k)`` (k axes).

        Float64 because a float32 angle at position 2000 is off by ~1e-4 rad;
        the cosines and sines are cast to the working precision afterwards.
        """
        planes = self.head_dim // 2
        axes = 1 if positions.ndim == 1 else positions.shape[-1]
        if positions.dtype.is_floating_point or positions.ndim not in (1, 2) or not 1 <= axes <= planes:
            raise ValueError(
                f"positions of shape {tuple(positions.shape)} and dtype {positions.dtype} are invalid: "
                f"integer (N,) or (N, k), 1 <= k <= head_dim // 2 = {planes}"
            )
        pos = positions.to(torch.float64).view(len(positions), axes)  # (N,) or (N, k) -> (N, k)
        sizes = [planes // axes + (a < planes % axes) for a in range(axes)]  # 2 axes: D/4 planes each
        freqs = [self._frequencies(n, positions.device) for n in sizes]
        return torch.cat([pos[:, a : a + 1] * f for a, f in enumerate(freqs)], dim=-1)  # k x (N, n_a) -> (N, D/2)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` ``(..., N, D)`` plane by plane by the angles whose ``cos``, ``sin`` are ``(N, D // 2)``.

    Computed in the precision of ``cos`` (float32 at least), returned in ``x``'s dtype.
    """
    first, second = x.to(cos.dtype).chunk(2, dim=-1)  # (..., N, D) -> 2 x (..., N, D/2)
    rotated = torch.cat([first * cos - second * sin, first * sin + second * cos], dim=-1)  # (..., N, D)
    return rotated.to(x.dtype)


class SwiGLU(nn.Module):
    """``W_down (SiLU(W_gate x) * W_up x)`` (Shazeer 2020, "GLU variants improve transformer")."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.gate_up = nn.Linear(dim, 2 * hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up(x).chunk(2, dim=-1)  # (B, N, dim) -> 2 x (B, N, hidden)
        return self.down(F.silu(gate) * up)


def _repeat_kv(k: torch.Tensor, n_heads: int) -> torch.Tensor:
    """``(B, H_kv, N, D) -> (B, n_heads, N, D)``: query head ``h`` reads key/value head ``h // (n_heads / H_kv)``."""
    return k.repeat_interleave(n_heads // k.shape[1], dim=1)


def reference_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *, dropout: float = 0.0,
    causal: bool = False,
) -> torch.Tensor:  # fmt: skip
    """``softmax(Q K^T / sqrt(D) + M) V`` written out, storing the ``(B, H, N, M)`` weights.

    ``q`` ``(B, H, N, D)``; ``k``, ``v`` ``(B, H_kv, M, D)`` with ``H_kv`` dividing
    ``H`` (grouped-query attention); ``mask`` broadcastable to ``(B, H, N, M)``,
    boolean (``True``: attend; ``False``: weight exactly 0) or additive float.
    Every query must be allowed at least one key. ``causal``: query ``i`` also
    sees only keys ``j <= i`` (``N = M``).
    """
    k, v = _repeat_kv(k, q.shape[1]), _repeat_kv(v, q.shape[1])  # (B, H_kv, M, D) -> (B, H, M, D)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, N, D) @ (B, H, D, M) -> (B, H, N, M)
    if causal:
        scores = scores.masked_fill(~_lower(q.shape[2], q.device), float("-inf"))
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    elif mask is not None:
        scores = scores + mask
    weights = F.dropout(scores.softmax(dim=-1), p=dropout, training=dropout > 0)
    return weights @ v  # (B, H, N, M) @ (B, H, M, D) -> (B, H, N, D)


def _lower(n: int, device: torch.device) -> torch.Tensor:
    """``(n, n)`` boolean: ``j <= i`` (the keys a causal query ``i`` sees)."""
    return torch.ones(n, n, dtype=torch.bool, device=device).tril()


def sdpa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *, dropout: float = 0.0,
    causal: bool = False,
) -> torch.Tensor:  # fmt: skip
    """The same as :func:`reference_attention` through PyTorch's fused ``scaled_dot_product_attention``.

    Grouped heads: without a mask, SDPA's ``enable_gqa`` shares the key/value
    heads in the kernel. With a mask the key/value heads are repeated first:
    in torch 2.13 ``enable_gqa`` runs only in the flash and math kernels on CUDA,
    and flash takes no mask, so ``enable_gqa`` plus a mask would fall back to
    the math kernel, which stores the ``(N, N)`` weights. The copies cost
    ``O(N D)`` memory, against the ``O(N^2)`` they save.
    """
    if mask is None:
        gqa = k.shape[1] != q.shape[1]
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=causal, enable_gqa=gqa)
    if causal:  # SDPA takes a mask or is_causal, not both
        lower = _lower(q.shape[2], q.device)
        mask = mask & lower if mask.dtype == torch.bool else mask.masked_fill(~lower, float("-inf"))
    k, v = _repeat_kv(k, q.shape[1]), _repeat_kv(v, q.shape[1])  # (B, H_kv, M, D) -> (B, H, M, D)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)


def linear_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None, *, dropout: float = 0.0,
    causal: bool = False,
) -> torch.Tensor:  # fmt: skip
    """Kernelised attention (Katharopoulos et al. 2020): ``phi(Q) (phi(K)^T V) / (phi(Q) sum_j phi(K_j))``.

    ``phi(x) = elu(x) + 1`` > 0 stands in for ``exp(q . k)``; summing ``phi(K)^T V``
    ``(D, D)`` first makes the cost ``O(N D^2)`` instead of ``O(N^2 D)``. ``causal``
    replaces the sums by running sums over ``j <= i`` (the recurrent form: a state
    of ``D x D`` per head), here all ``N`` states at once: ``O(N D^2)`` memory, where
    fused softmax attention needs ``O(N D)``. ``mask`` may only drop keys: boolean, broadcastable to
    ``(B, 1, 1, M)``; a mask between query-key pairs (a window) has no linear form.
    ``dropout`` is not applied (there are no weights to drop). Computed in float32
    at least: the running sums lose bf16's few bits.
    """
    if mask is not None and (mask.dtype != torch.bool or mask.shape[-2] != 1):
        raise ValueError(f"mask of shape {tuple(mask.shape)} is invalid for linear attention: a (B, 1, 1, M) key mask")
    with torch.autocast(q.device.type, enabled=False):  # autocast would run the sums in bf16
        return _linear_attention(q, k, v, mask, causal)[0]


def _linear_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, causal: bool,
    state: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor] | None]:  # fmt: skip
    """The output, and (causal) the running sums ``sum_j phi(k_j) v_j^T``, ``sum_j phi(k_j)`` over all the keys,
    ``state`` holding those of keys before these (the recurrent form, :meth:`Attention.step`)."""
    dtype = q.dtype
    work = torch.promote_types(dtype, torch.float32)
    k, v = _repeat_kv(k, q.shape[1]).to(work), _repeat_kv(v, q.shape[1]).to(work)  # (B, H, M, D)
    q, k = F.elu(q.to(work)) + 1, F.elu(k) + 1
    if mask is not None:
        k = k * mask.transpose(-2, -1).to(work)  # (B, 1, M, 1): a dropped key adds nothing to either sum
    sums = None
    if causal:
        kv = torch.einsum("bhnd,bhne->bhnde", k, v).cumsum(dim=2)  # (B, H, N, D, D): sum_{j<=i} phi(k_j) v_j^T
        z = k.cumsum(dim=2)  # (B, H, N, D)
        if state is not None:
            kv, z = kv + state[0][:, :, None], z + state[1][:, :, None]
        numerator = torch.einsum("bhnd,bhnde->bhne", q, kv)
        denominator = (q * z).sum(-1, keepdim=True)  # (B, H, N, 1)
        sums = (kv[:, :, -1], z[:, :, -1])
    else:
        numerator = q @ (k.transpose(-2, -1) @ v)  # (B, H, N, D) @ ((B, H, D, M) @ (B, H, M, D))
        denominator = q @ k.sum(dim=2)[..., None]  # (B, H, N, D) @ (B, H, D, 1)
    return (numerator / denominator.clamp_min(torch.finfo(work).tiny)).to(dtype), sums


def grid_positions(shape: tuple[int, ...]) -> torch.Tensor:
    """Integer positions of a row-major patch grid: ``(X,)`` -> ``(X,)``; ``(X, Y)`` -> ``(X Y, 2)`` (row, col);
    ``(T, Y, X)`` -> ``(T Y X, 3)``."""
    axes = torch.meshgrid(*(torch.arange(n) for n in shape), indexing="ij")
    return axes[0].flatten() if len(shape) == 1 else torch.stack([a.flatten() for a in axes], dim=-1)


def window_mask(positions: torch.Tensor, window: int) -> torch.Tensor | None:
    """``(Nf, Nf)``: which patch pairs lie within ``window`` patches along every axis; ``None`` for ``window = 0``."""
    if window == 0:
        return None
    pos = positions.view(len(positions), -1)  # (Nf,) or (Nf, 2) -> (Nf, 1 or 2)
    return (pos[:, None, :] - pos[None, :, :]).abs().amax(dim=-1) <= window  # (Nf, Nf, 1 or 2) -> (Nf, Nf)


#: Attention implementations by name (``MultimodalConfig.attention``): softmax attention two ways, and linear.
ATTENTION: dict[str, Callable[..., torch.Tensor]] = {
    "sdpa": sdpa_attention,
    "reference": reference_attention,
    "linear": linear_attention,
}


class Attention(nn.Module):
    """Multi-head self-attention with ``n_kv_heads`` key/value heads shared by ``n_heads`` queries.

    ``n_kv_heads = n_heads``: multi-head; ``1``: multi-query; in between:
    grouped-query attention (Ainslie et al. 2023). Queries and keys are
    rotated by the rotary tables passed to :meth:`forward`. ``causal``: token
    ``i`` attends to tokens ``j <= i`` only.

    A causal attention also runs one token at a time (:meth:`step`, for generation): softmax attention
    from a key/value cache (``O(n)`` per token at position ``n``; with ``window``, only the last
    ``window + 1`` keys, which the forward pass's window mask leaves, are kept: ``O(window)``), linear
    attention from its recurrent state, ``sum_j phi(k_j) v_j^T`` and ``sum_j phi(k_j)`` (``O(1)``).
    ``rope_base`` is the rotary base of the positions :meth:`step` counts.
    """

    def __init__(
        self, dim: int, n_heads: int, n_kv_heads: int, *, dropout: float = 0.0, impl: str = "sdpa",
        causal: bool = False, window: int = 0, rope_base: float = 10000.0,
    ) -> None:  # fmt: skip
        super().__init__()
        if dim % n_heads or n_heads % n_kv_heads:
            raise ValueError(
                f"(dim, n_heads, n_kv_heads) = {(dim, n_heads, n_kv_heads)} is invalid: n_heads must divide dim "
                "and n_kv_heads must divide n_heads"
            )
        if impl not in ATTENTION:
            raise ValueError(f"impl = {impl!r} is invalid: choose one of {', '.join(ATTENTION)}")
        if not (isinstance(window, int) and window >= 0) or (window and impl == "linear"):
            raise ValueError(f"window = {window!r} is invalid: must be an int >= 0 (0: global; 0 for linear attention)")
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, dim // n_heads
        self.dropout, self.impl, self.attend, self.causal = dropout, impl, ATTENTION[impl], causal
        self.window, self.rope_base = window, rope_base
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * n_kv_heads * self.head_dim, bias=False)
        self.out = nn.Linear(dim, dim, bias=False)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``x`` ``(B, N, dim)``, rotary tables ``(N, head_dim // 2)``, ``mask`` as for :func:`reference_attention`."""
        B, N, _ = x.shape
        q = self.q(x).view(B, N, self.n_heads, self.head_dim).transpose(1, 2)  # (B, N, dim) -> (B, H, N, D)
        kv = self.kv(x).view(B, N, 2, self.n_kv_heads, self.head_dim)  # (B, N, 2 H_kv D) -> (B, N, 2, H_kv, D)
        k, v = kv.permute(2, 0, 3, 1, 4).unbind(0)  # -> 2 x (B, H_kv, N, D)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        y = self.attend(q, k, v, mask, dropout=self.dropout if self.training else 0.0, causal=self.causal)  # (B,H,N,D)
        return self.out(y.transpose(1, 2).reshape(B, N, -1))  # (B, H, N, D) -> (B, N, H D) -> (B, N, dim)

    def step(self, x: torch.Tensor, state: tuple | None) -> tuple[torch.Tensor, tuple]:
        """The next ``T`` tokens ``(B, T, dim)`` from the carried ``state`` (``None`` at the start): ``(y, new
        state)``, as :meth:`forward` gives them for the last ``T`` tokens of the sequence so far. ``T > 1`` fills
        the cache from a prompt in one call (prefill); ``T = 1`` generates."""
        if not self.causal:
            raise ValueError("step() is invalid for causal = False: a bidirectional attention needs every token")
        (B, T, _), position = x.shape, 0 if state is None else state[-1]
        q = self.q(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, T, dim) -> (B, H, T, D)
        k, v = self.kv(x).view(B, T, 2, self.n_kv_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        positions = torch.arange(position, position + T, device=x.device)
        angles = RotaryEmbedding(self.head_dim, base=self.rope_base).angles(positions)
        work = torch.float64 if x.dtype == torch.float64 else torch.float32
        cos, sin = angles.cos().to(work), angles.sin().to(work)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if self.impl == "linear":
            with torch.autocast(x.device.type, enabled=False):  # the running sums lose bf16's few bits
                y, state = _linear_attention(q, k, v, None, True, state)
        else:
            if state is not None:
                k, v = torch.cat([state[0], k], dim=2), torch.cat([state[1], v], dim=2)  # (B, H_kv, n + T, D)
            if T == 1 and not (self.window and k.shape[2] > self.window + 1):  # one query: every key cached
                y = self.attend(q, k, v)
            elif k.shape[2] == T and not self.window:  # a prompt from the start: plain causal attention
                y = self.attend(q, k, v, causal=True)
            else:  # query i is key n + i: it sees the keys up to it (and back to its window)
                query = torch.arange(k.shape[2] - T, k.shape[2], device=x.device)[:, None]
                key = torch.arange(k.shape[2], device=x.device)[None, :]
                y = self.attend(q, k, v, (key <= query) & ((key >= query - self.window) if self.window else True))
            if self.window:  # the keys a later query may still see
                k, v = k[:, :, -(self.window + 1) :], v[:, :, -(self.window + 1) :]
            state = (k, v)
        return self.out(y.transpose(1, 2).reshape(B, T, -1)), (*state, position + T)
