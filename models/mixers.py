"""Token mixers and a routed MLP that stand in for attention and SwiGLU in a transformer block.

* :class:`RecurrentMixer`: a GRU or an LSTM run along the token sequence
  (both ways, or forward only for a causal model), ``O(N)`` but sequential;
* :class:`SelectiveSSMMixer`: Mamba's selective state-space block (Gu & Dao 2023):
  input-dependent step ``Delta`` and projections ``B``, ``C`` of a diagonal
  state ``h_t = exp(Delta_t A) h_{t-1} + Delta_t B_t x_t``, ``y_t = C_t h_t + D x_t``.
  The block and its parallel (Blelloch) scan are ``mambapy``'s; on CUDA with
  ``mamba-ssm`` installed the scan runs in its fused kernel;
* :class:`MixtureOfExperts`: top-k routed SwiGLU experts with a capacity per
  expert and the Switch load-balancing loss.

Every mixer maps ``(B, N, dim) -> (B, N, dim)`` with the attention signature
``(x, cos, sin, mask)``: the rotary tables are unused (order is position for a
scan); ``mask`` is a key mask ``(B, 1, 1, N)`` whose dropped tokens (text pads,
dropped modalities) enter the scan as zeros. A causal mixer also steps one
token at a time from a carried state (:meth:`step`), the same numbers as the
parallel path.
"""

from __future__ import annotations

import importlib.util
import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["CELLS", "MixtureOfExperts", "RecurrentMixer", "SelectiveSSMMixer", "balance_loss"]

#: Recurrent cells by name.
CELLS: dict[str, type[nn.RNNBase]] = {"gru": nn.GRU, "lstm": nn.LSTM}


def _masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """``x`` ``(B, N, dim)`` with the tokens a key mask ``(B, 1, 1, N)`` drops set to zero."""
    return x if mask is None else x * mask[:, 0, 0, :, None].to(x.dtype)


class RecurrentMixer(nn.Module):
    """A ``cell`` (``"gru"`` or ``"lstm"``) of ``dim`` units per direction, then a linear map back to ``dim``.

    ``bidirectional``: a forward and a backward pass, concatenated (every token
    sees the whole sequence, like bidirectional attention); otherwise causal.
    """

    def __init__(self, cell: str, dim: int, *, bidirectional: bool = True) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell = {cell!r} is invalid: choose one of {', '.join(CELLS)}")
        self.bidirectional = bidirectional
        self.rnn = CELLS[cell](dim, dim, batch_first=True, bidirectional=bidirectional)
        self.out = nn.Linear((1 + bidirectional) * dim, dim, bias=False)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor | None = None, sin: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:  # fmt: skip
        return self.out(self.rnn(_masked(x, mask))[0])  # (B, N, dim) -> (B, N, dirs dim) -> (B, N, dim)

    def step(self, x: torch.Tensor, state: object) -> tuple[torch.Tensor, object]:
        """The next tokens ``(B, T, dim)`` from the carried ``state`` (``None`` at the start): ``(y, new state)``."""
        if self.bidirectional:
            raise ValueError("step() is invalid for a bidirectional mixer: the backward pass needs the whole sequence")
        y, state = self.rnn(x, state)
        return self.out(y), state

    def init_weights(self, std: float, out_std: float) -> None:
        """The cell keeps PyTorch's uniform(+-1/sqrt(dim)) gates; the output map gets ``out_std``."""
        self.rnn.reset_parameters()
        nn.init.normal_(self.out.weight, std=out_std)


def mamba_ssm_available() -> bool:
    """Whether ``mamba-ssm``'s CUDA selective scan can be imported (never on a machine without CUDA)."""
    return torch.cuda.is_available() and importlib.util.find_spec("mamba_ssm") is not None


class SelectiveSSMMixer(nn.Module):
    """Mamba's block (``mambapy``): in-projection, short causal convolution, selective scan, gate, out-projection.

    ``d_state`` states per channel, ``expand * dim`` channels inside, a causal
    convolution of ``d_conv`` taps. ``bidirectional``: a second block reads the
    reversed sequence and the two outputs add (as in Vision Mamba); otherwise the
    mixer is causal and :meth:`step` runs it as a recurrence with a state of
    ``expand * dim * d_state`` numbers plus the convolution's last inputs.
    """

    def __init__(self, dim: int, *, d_state: int = 16, expand: int = 2, d_conv: int = 4,
                 bidirectional: bool = True) -> None:  # fmt: skip
        super().__init__()
        from mambapy.mamba import MambaBlock, MambaConfig  # ~0.1 s: loaded only when an SSM is built

        fused = mamba_ssm_available()
        self.config = MambaConfig(d_model=dim, n_layers=1, d_state=d_state, expand_factor=expand, d_conv=d_conv,
                                  use_cuda=fused)  # fmt: skip
        self.bidirectional = bidirectional
        self.forward_scan = MambaBlock(self.config)
        self.backward_scan = MambaBlock(self.config) if bidirectional else None
        # mambapy keeps the kernel only if it imported (a broken mamba-ssm install is found but fails to load).
        self.fused = fused and hasattr(self.forward_scan, "selective_scan_cuda")

    def _scan(self, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
        # The fused kernel runs on CUDA in float32/bf16 only; elsewhere mambapy's parallel scan in torch. (bf16 through
        # autocast, as the trainer runs it: mambapy computes D x in float32, so a model cast to bf16 fails.)
        self.config.use_cuda = self.fused and x.is_cuda and x.dtype != torch.float64
        return block(x)

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor | None = None, sin: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:  # fmt: skip
        x = _masked(x, mask)
        y = self._scan(self.forward_scan, x)
        if self.backward_scan is not None:
            y = y + self._scan(self.backward_scan, x.flip(1)).flip(1)
        return y

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero state ``h`` ``(B, expand dim, d_state)``, zero past convolution inputs ``(B, expand dim, d_conv-1)``."""
        c = self.config
        return (torch.zeros(batch, c.d_inner, c.d_state, device=device, dtype=dtype),
                torch.zeros(batch, c.d_inner, c.d_conv - 1, device=device, dtype=dtype))  # fmt: skip

    def step(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, object]:
        """The next tokens ``(B, T, dim)`` from the carried ``state`` (``None`` at the start): ``(y, new state)``,
        one token at a time (mambapy's recurrent step)."""
        if self.bidirectional:
            raise ValueError("step() is invalid for a bidirectional mixer: the backward pass needs the whole sequence")
        if state is None:
            state = self.initial_state(x.shape[0], x.device, x.dtype)
        ys = []
        for t in range(x.shape[1]):
            y, state = self.forward_scan.step(x[:, t], state)
            ys.append(y)
        return torch.stack(ys, dim=1), state

    def init_weights(self, std: float, out_std: float) -> None:
        """Mamba's scheme: ``A = -(1..d_state)`` (S4D-real), ``D = 1``, ``Delta`` log-uniform in
        [1e-3, 0.1] through the inverse softplus of ``dt_proj``'s bias; projections normal(``std``), the
        output projection normal(``out_std``)."""
        c = self.config
        for block in filter(None, (self.forward_scan, self.backward_scan)):
            nn.init.normal_(block.in_proj.weight, std=std)
            nn.init.normal_(block.x_proj.weight, std=std)
            nn.init.normal_(block.out_proj.weight, std=out_std)
            block.conv1d.reset_parameters()
            bound = c.dt_rank**-0.5 * c.dt_scale
            nn.init.uniform_(block.dt_proj.weight, -bound, bound)
            with torch.no_grad():
                low, high = math.log(c.dt_min), math.log(c.dt_max)
                dt = torch.exp(torch.rand(c.d_inner) * (high - low) + low).clamp(min=c.dt_init_floor)
                block.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)
                block.A_log.copy_(torch.log(torch.arange(1, c.d_state + 1, dtype=torch.float64)).expand(c.d_inner, -1))
                block.D.fill_(1.0)


def balance_loss(probs: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    """Switch Transformer's load-balancing loss ``E sum_e f_e P_e`` (Fedus et al. 2021, eq. 4).

    ``probs`` ``(T, E)``: router probabilities; ``chosen`` ``(T, k)``: each
    token's experts. ``f_e`` is the share of the ``T k`` assignments that went
    to expert ``e``, ``P_e`` its mean probability. Uniform routing gives 1, its
    minimum over balanced assignments; routing every token to the same ``k`` experts gives ``E / k``.
    """
    n_experts = probs.shape[-1]
    share = F.one_hot(chosen, n_experts).to(probs.dtype).mean(dim=(0, 1))  # (T, k, E) -> (E,)
    return n_experts * (share * probs.mean(dim=0)).sum()


class MixtureOfExperts(nn.Module):
    """``n_experts`` SwiGLU MLPs of ``hidden`` units; each token goes to its ``top_k`` (Shazeer et al. 2017).

    A linear router scores the experts; a token's output is the sum of its
    ``top_k`` experts' outputs weighted by their renormalised softmax
    probabilities. In training each expert takes at most ``capacity =
    ceil(capacity_factor * T * top_k / n_experts)`` of the ``T`` tokens of a
    batch (all first choices first, then the second...; token by token for a
    ``causal`` model, so that no token's fate depends on later ones); a token
    over capacity skips that expert (its residual carries it through).
    Evaluation drops nothing. After every call :attr:`last` holds the
    balancing loss, each expert's share of the assignments and the share dropped.
    """

    def __init__(
        self, dim: int, hidden: int, *, n_experts: int, top_k: int, capacity_factor: float, causal: bool = False
    ) -> None:
        super().__init__()
        if not 1 <= top_k <= n_experts:
            raise ValueError(f"top_k = {top_k} is invalid: must be 1 .. n_experts = {n_experts}")
        if capacity_factor <= 0:
            raise ValueError(f"capacity_factor = {capacity_factor} is invalid: must be > 0")
        self.n_experts, self.top_k, self.capacity_factor, self.causal = n_experts, top_k, capacity_factor, causal
        self.router = nn.Linear(dim, n_experts, bias=False)
        self.gate_up = nn.Parameter(torch.empty(n_experts, dim, 2 * hidden))
        self.down = nn.Parameter(torch.empty(n_experts, hidden, dim))
        self.last: dict[str, torch.Tensor] = {}

    def capacity(self, n_tokens: int) -> int:
        """Most tokens one expert takes from a batch of ``n_tokens`` in training; all of them in evaluation
        (so a sample's prediction never depends on the rest of its batch)."""
        if not self.training:
            return n_tokens
        return max(1, math.ceil(self.capacity_factor * n_tokens * self.top_k / self.n_experts))

    def route(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """For ``tokens`` ``(T, dim)``: router probabilities ``(T, E)``, chosen experts ``(T, k)``, their
        weights ``(T, k)`` and each assignment's slot in its expert's buffer ``(T, k)`` (``-1``: over capacity)."""
        with torch.autocast(tokens.device.type, enabled=False):  # routing in float32 at least: bf16 ties flip choices
            logits = self.router(tokens.to(self.router.weight.dtype))
        probs = logits.to(torch.promote_types(logits.dtype, torch.float32)).softmax(dim=-1)
        weights, chosen = probs.topk(self.top_k, dim=-1)  # (T, k)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        # Queue order: all first choices first (Switch / GShard); for a causal model token by token (in the order
        # forward gives them), so that whether a token is over capacity never depends on the tokens after it.
        order = chosen.reshape(-1) if self.causal else chosen.T.reshape(-1)
        onehot = F.one_hot(order, self.n_experts)  # (k T, E)
        slot = (onehot.cumsum(dim=0) * onehot).sum(-1) - 1  # (k T,): place in the expert's queue
        slot = slot.view(-1, self.top_k) if self.causal else slot.view(self.top_k, -1).T  # (T, k)
        slot = torch.where(slot < self.capacity(tokens.shape[0]), slot, -1)
        return probs, chosen, weights, slot

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, N, dim)``; a causal model queues the tokens position by position (all samples' first
        token, then the second...), so that no token's place depends on a later position in any sample."""
        if self.causal:
            return self._experts(x.transpose(0, 1)).transpose(0, 1)
        return self._experts(x)

    def _experts(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        tokens = x.reshape(-1, shape[-1])  # (T, dim), in queue order
        probs, chosen, weights, slot = self.route(tokens)
        kept = slot >= 0
        # Buffers as long as the capacity; in evaluation (no limit) as long as the fullest expert's queue.
        capacity = self.capacity(tokens.shape[0]) if self.training else int(slot.max()) + 1
        token_index = torch.arange(tokens.shape[0], device=x.device)[:, None].expand_as(chosen)[kept]  # (A,)
        expert, place = chosen[kept], slot[kept]  # (A,) kept assignments
        buffer = tokens.new_zeros(self.n_experts, capacity, shape[-1])
        buffer[expert, place] = tokens[token_index]  # (E, C, dim): each expert's tokens
        gate, up = torch.bmm(buffer, self.gate_up.to(x.dtype)).chunk(2, dim=-1)  # (E, C, dim) @ (E, dim, 2h)
        expert_out = torch.bmm(F.silu(gate) * up, self.down.to(x.dtype))  # (E, C, h) @ (E, h, dim) -> (E, C, dim)
        out = torch.zeros_like(tokens)
        out.index_add_(0, token_index, expert_out[expert, place] * weights[kept][:, None].to(x.dtype))
        self.last = {
            "balance": balance_loss(probs, chosen),
            "load": F.one_hot(chosen, self.n_experts).float().mean(dim=(0, 1)).detach(),  # (E,)
            "dropped": (~kept).float().mean().detach(),
        }
        return out.view(shape)

    def init_weights(self, std: float, out_std: float) -> None:
        nn.init.normal_(self.router.weight, std=std)
        nn.init.normal_(self.gate_up, std=std)
        nn.init.normal_(self.down, std=out_std)
