"""A transformer over one sequence of field patches, text tokens and image patches that predicts the next field.

Each input becomes tokens, tagged by a learned modality embedding and rotated by its own rotary position
(:class:`~physml.models.attention.RotaryEmbedding`):

* field patches: a ``patch``-wide convolution ``C_in -> dim``; 1D rotary on the patch index (1D fields), axial 2D
  rotary on (row, col) (2D fields);
* text ``(B, L)``: a ``vocab_size x dim`` token table; 1D rotary on ``0 .. L-1``;
* image patches: an ``image_patch``-wide convolution ``C_img -> dim``; axial 2D rotary on (row, col);
* video ``(B, T, C_vid, H, W)``: tubelets of ``tubelet`` frames x ``video_patch`` x ``video_patch`` pixels
  (ViViT's tubelet embedding, a strided 3D convolution ``C_vid -> dim``); axial 3D rotary on (t, y, x). The
  convolution's bias tags them as video (what a row of the modality table would add), so the table keeps the rows
  of the models before video.

Relative positions are meaningful within a modality; between modalities the rotations do not line up, and the
modality embeddings tell the tokens apart. The exception is a video beside 2D fields: the field patches then sit
at (t, y, x) too, one tubelet after the clip, so a patch and the tubelets over its pixels differ in time only.

Attention is bidirectional. Text pad tokens (id 0) are masked as keys, so appending pads changes nothing, and a
sample whose text is all pads is a sample without text. ``window > 0`` restricts field patches to field patches
within ``window`` patches along each axis (no wrap-around, like the rotary positions; text and image tokens stay
global). It is an attention mask: it bounds what a patch sees per block, not the compute, which stays quadratic.

``causal = True`` (fields only, 1D): patch ``i`` sees patches ``j <= i``, so the output at patch ``i`` can be
trained to forecast patch ``i + 1`` of a time series; :meth:`MultimodalTransformer.step` then generates one patch at
a time from a key/value cache. ``attention = "linear"`` swaps softmax attention for linear
attention (:func:`~physml.models.attention.linear_attention`), ``O(N)`` in the sequence length.

``spectral_skip`` adds a full-resolution path beside the tokens: a linear spectral convolution (an FNO layer without
its nonlinearity) from the input fields to the output. A linear operator diagonal in Fourier space, such as the free
propagator ``exp(-i k^2 dt / 2)`` of the Schrödinger equation, is then one weight per mode instead of something the
patches must learn; the blocks are left with what the potential does.

The blocks' token mixer is attention here; :mod:`physml.models.sequence` builds the same model with a GRU, an LSTM
or a selective state-space scan as the mixer, or with a mixture of experts as the MLP
(:meth:`MultimodalTransformer.make_block`).

``read_fields = False`` withholds the arrays: the model reads the fields from the film, and the head reads the
tokens of its last tubelet slice, which sit over the field patches (the film of a window, for example, from
:class:`~physml.datasets.Camera`), as the arrays' model reads its field tokens.

A missing modality (``text=None``, ``image=None``, ``video=None``) leaves its tokens out. Only modalities in
``MultimodalConfig.missing_ok`` may be missing; the model trains for their absence itself, by modality dropout in
training mode.

With ``noise_embedding`` the model is a DiT-style denoiser: ``noise = t`` ``(B,)`` is embedded and scales, shifts
and gates every block's normalised inputs and outputs (adaptive norm, zero at the start), while text and image stay
tokens; modality dropout then is classifier-free guidance's condition dropout (see :mod:`physml.models.diffusion`).
"""

from __future__ import annotations

import torch
from torch import nn

from physml.models.attention import Attention, RMSNorm, RotaryEmbedding, SwiGLU, grid_positions, window_mask
from physml.models.multimodal_config import MODALITIES, MultimodalConfig
from physml.models.noise_level import NoiseEmbedding, check_noise
from physml.models.registry import register_model
from physml.models.spectral_conv import spectral_skip

__all__ = ["MODALITIES", "MultimodalConfig", "MultimodalTransformer", "TransformerBlock"]


class TransformerBlock(nn.Module):
    """Pre-norm block: ``h + mix(norm(h))``, then ``h + mlp(norm(h))``.

    ``mix`` mixes tokens (attention unless ``mixer`` is given); ``mlp`` acts per
    token (SwiGLU unless ``mlp`` is given). Given a noise embedding ``emb``
    ``(B, dim)`` (adaptive norm), each branch reads ``norm(h) (1 + scale) + shift``
    and its output is multiplied by ``1 + gate``, the six ``(B, dim)`` vectors a
    linear map of ``emb`` that starts at zero.
    """

    def __init__(self, config: MultimodalConfig, mixer: nn.Module | None = None, mlp: nn.Module | None = None) -> None:
        super().__init__()
        self.mix_norm, self.mlp_norm = (RMSNorm(config.dim, eps=config.norm_eps) for _ in range(2))
        if mixer is None:
            mixer = Attention(config.dim, config.n_heads, config.n_kv_heads, dropout=config.dropout,
                              impl=config.attention, causal=config.causal, window=config.window,
                              rope_base=config.rope_base)  # fmt: skip
        self.mix = mixer
        self.mlp = mlp if mlp is not None else SwiGLU(config.dim, int(config.mlp_ratio * config.dim))
        self.drop = nn.Dropout(config.dropout)
        self.modulation = nn.Linear(config.dim, 6 * config.dim) if config.noise_embedding else None
        self._register_load_state_dict_pre_hook(_renamed)

    def step(self, h: torch.Tensor, state: object) -> tuple[torch.Tensor, object]:
        """The block on the next tokens ``(B, T, dim)`` of a causal sequence, its mixer carrying ``state``."""
        y, state = self.mix.step(self.mix_norm(h), state)
        h = h + y
        return h + self.mlp(self.mlp_norm(h)), state

    def init_weights(self, std: float, out_std: float) -> None:
        """Each branch's output layer drawn with ``out_std``; mixers and MLPs with their own scheme run it."""
        for branch in (self.mix, self.mlp):
            if hasattr(branch, "init_weights"):
                branch.init_weights(std, out_std)
            else:
                nn.init.normal_((branch.out if branch is self.mix else branch.down).weight, std=out_std)
        if self.modulation is not None:  # adaptive norm starts as the plain block
            nn.init.zeros_(self.modulation.weight)
            nn.init.zeros_(self.modulation.bias)

    def forward(
        self, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, mask: torch.Tensor | None,
        emb: torch.Tensor | None = None,
    ) -> torch.Tensor:  # fmt: skip
        if self.modulation is None:
            h = h + self.drop(self.mix(self.mix_norm(h), cos, sin, mask))
            return h + self.drop(self.mlp(self.mlp_norm(h)))
        mod = self.modulation(emb).to(h.dtype)[:, None, :].chunk(6, dim=-1)  # 6 x (B, 1, dim)
        shift_a, scale_a, gate_a, shift_m, scale_m, gate_m = mod
        h = h + (1 + gate_a) * self.drop(self.mix(self.mix_norm(h) * (1 + scale_a) + shift_a, cos, sin, mask))
        return h + (1 + gate_m) * self.drop(self.mlp(self.mlp_norm(h) * (1 + scale_m) + shift_m))


def _renamed(state: dict, prefix: str, *_: object) -> None:
    """Checkpoints written before the mixer was pluggable name it ``attn``: read those as ``mix``."""
    for old, new in (("attn_norm.", "mix_norm."), ("attn.", "mix.")):
        for key in [k for k in state if k.startswith(prefix + old)]:
            state[prefix + new + key[len(prefix + old) :]] = state.pop(key)


@register_model("multimodal_transformer", MultimodalConfig)
class MultimodalTransformer(nn.Module):
    """Next field ``(B, C_out, *space)`` from fields ``x`` ``(B, C_in, *space)``, optional text and image.

    ``forward(x, *, text=None, image=None)``: ``text`` holds token ids
    ``(B, L)``, ``L <= text_length``, pad id 0; ``image`` is
    ``(B, image_channels, H, W)``. Embed every input as tokens, run ``depth``
    transformer blocks over the one sequence, read the field tokens back out
    as patches. The head starts at zero, so the model first predicts zeros:
    under a residual :class:`~physml.models.FieldFormat` training starts from
    persistence. (Zeroing the head rather than each residual branch keeps the
    blocks' gradients alive from the second step on.)

    Examples
    --------
    >>> model = MultimodalTransformer(MultimodalConfig(3, 2, field_size=(64,), dim=32, depth=2))
    >>> model(torch.randn(5, 3, 64), text=torch.randint(1, 512, (5, 12))).shape
    torch.Size([5, 2, 64])
    """

    def __init__(self, config: MultimodalConfig) -> None:
        super().__init__()
        self.config = config
        conv = nn.Conv1d if config.ndim == 1 else nn.Conv2d
        reads = config.read_fields  # (else the film's tokens stand for the fields)
        self.field_embed = conv(config.in_channels, config.dim, config.patch, stride=config.patch) if reads else None
        self.text_embed = nn.Embedding(config.vocab_size, config.dim) if "text" in config.modalities else None
        self.image_embed = (
            nn.Conv2d(config.image_channels, config.dim, config.image_patch, stride=config.image_patch)
            if "image" in config.modalities
            else None
        )
        tubelet = (config.tubelet, config.video_patch, config.video_patch)
        video = "video" in config.modalities
        self.video_embed = nn.Conv3d(config.video_channels, config.dim, tubelet, stride=tubelet) if video else None
        self.modality = nn.Parameter(torch.empty(3, config.dim))  # rows: field, text, image
        attends = config.attends
        self.rotary = RotaryEmbedding(config.dim // config.n_heads, base=config.rope_base) if attends else None
        self.blocks = nn.ModuleList(self.make_block(config) for _ in range(config.depth))
        self.norm = RMSNorm(config.dim, eps=config.norm_eps)
        self.head = nn.Linear(config.dim, config.out_channels * config.patch**config.ndim)
        # Integer positions (not cast by .float()/.double(), not saved): fixed by the config. Beside a video the
        # field patches sit at (t, y, x) too, one tubelet after the clip: a patch's rotation against a tubelet is then
        # their offset in time and space, so it finds the pixels over it.
        clip = (config.video_frames // config.tubelet, *(n // config.video_patch for n in config.video_size))
        field_grid = (1, *config.grid) if video else config.grid
        field_positions = grid_positions(field_grid) + (torch.tensor([clip[0], 0, 0]) if video else 0)
        self.register_buffer("field_positions", field_positions, persistent=False)
        image_grid = tuple(n // config.image_patch for n in config.image_size)
        self.register_buffer("image_positions", grid_positions(image_grid), persistent=False)
        self.register_buffer("video_positions", grid_positions(clip), persistent=False)  # (Nv, 3): (t, y, x)
        self.register_buffer("local", window_mask(self.field_positions, config.window), persistent=False)
        self.noise = NoiseEmbedding(config.dim) if config.noise_embedding else None
        self.spectral = spectral_skip(config.in_channels, config.out_channels, config.spectral_skip, config.ndim)
        self._init_weights()

    def make_block(self, config: MultimodalConfig) -> nn.Module:
        """One of the ``depth`` blocks (subclasses swap the mixer or the MLP)."""
        return TransformerBlock(config)

    def _init_weights(self) -> None:
        std = self.config.init_std
        for module in self.modules():
            if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d | nn.Embedding):
                nn.init.normal_(module.weight, std=std)
                if getattr(module, "bias", None) is not None:
                    nn.init.zeros_(module.bias)
        nn.init.normal_(self.modality, std=std)
        for block in self.blocks:  # GPT-2: each residual branch's output scaled by 1/sqrt(2 depth)
            block.init_weights(std, std / (2 * self.config.depth) ** 0.5)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(
        self,
        x: torch.Tensor,
        *,
        text: torch.Tensor | None = None,
        image: torch.Tensor | None = None,
        video: torch.Tensor | None = None,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        self.config.check_inputs(x, text, image, video)
        B, cfg = x.shape[0], self.config
        check_noise(noise, B, cfg.noise_embedding, "multimodal_transformer")
        emb = self.noise(noise) if self.noise is not None else None
        n_field = len(self.field_positions)
        tokens, positions, keep = [], [], []  # keep: which keys may be attended to
        if cfg.read_fields:
            field = self.field_embed(x).flatten(2).transpose(1, 2)  # (B, C_in, *space) -> (B, dim, *grid) -> (B, Nf, ·)
            tokens.append(field + self.modality[0])
            positions.append(self.field_positions)
            keep.append(torch.ones(B, n_field, dtype=torch.bool, device=x.device))
        if text is not None:
            tokens.append(self.text_embed(text) + self.modality[1])  # (B, L) -> (B, L, dim)
            positions.append(torch.arange(text.shape[1], device=x.device))
            keep.append((text != 0) & self._kept("text", B, x.device)[:, None])
        if image is not None:
            patches = self.image_embed(image).flatten(2).transpose(1, 2)  # (B, C_img, H, W) -> (B, Ni, dim)
            tokens.append(patches + self.modality[2])
            positions.append(self.image_positions)
            keep.append(self._kept("image", B, x.device)[:, None].expand(B, patches.shape[1]))
        if video is not None:
            clip = self.video_embed(video.transpose(1, 2))  # (B, T, C, H, W) -> (B, C, T, H, W) -> (B, dim, T', H', W')
            tokens.append(clip.flatten(2).transpose(1, 2))  # -> (B, Nv, dim)
            positions.append(self.video_positions)
            keep.append(self._kept("video", B, x.device)[:, None].expand(B, tokens[-1].shape[1]))
        h = torch.cat(tokens, dim=1)  # (B, N, dim), N = Nf + L + Ni + Nv
        cos = sin = None  # a scan reads positions from the order of the tokens
        if self.rotary is not None:
            angles = torch.cat([self.rotary.angles(p) for p in positions])  # (N, head_dim // 2), float64
            work = torch.float64 if h.dtype == torch.float64 else torch.float32
            cos, sin = angles.cos().to(work), angles.sin().to(work)
        mask = self._mask(torch.cat(keep, dim=1), n_field if cfg.read_fields else 0)
        for block in self.blocks:
            h = block(h, cos, sin, mask, emb)
        read = h[:, :n_field] if cfg.read_fields else h[:, -n_field:]  # the field tokens, or the film's last slice
        out = self.head(self.norm(read))  # (B, Nf, dim) -> (B, Nf, C_out p^ndim)
        grid, p = cfg.grid, cfg.patch
        if cfg.ndim == 1:
            out = out.view(B, grid[0], cfg.out_channels, p).permute(0, 2, 1, 3)  # -> (B, C_out, X/p, p)
        else:
            out = out.view(B, *grid, cfg.out_channels, p, p).permute(0, 3, 1, 4, 2, 5)  # -> (B, C_out, X/p, p, Y/p, p)
        out = out.reshape(B, cfg.out_channels, *cfg.field_size)  # -> (B, C_out, *space)
        return out if self.spectral is None else out + self.spectral(x)

    @torch.no_grad()
    def step(self, x: torch.Tensor, state: list | None = None) -> tuple[torch.Tensor, list]:
        """The outputs ``(B, C_out, k patch)`` for the next ``k`` patches ``x`` ``(B, C_in, k patch)`` of a causal 1D
        series and the state to carry (``None`` at its start), in eval mode: patches one by one, or a prompt at once,
        give :meth:`forward`'s outputs; each mixer carries its own state (the caller's is left untouched)."""
        cfg = self.config
        if not cfg.causal:
            raise ValueError("step() is invalid for causal = False: a bidirectional model needs the whole sequence")
        if x.ndim != 3 or x.shape[1] != cfg.in_channels or x.shape[2] % cfg.patch or not x.shape[2]:
            raise ValueError(f"x shape = {tuple(x.shape)} is invalid: must be whole patches (B, in_channels, k patch)"
                             f" = (B, {cfg.in_channels}, k {cfg.patch}), k >= 1")  # fmt: skip
        state = list(state) if state is not None else [None] * len(self.blocks)
        h = self.field_embed(x).transpose(1, 2) + self.modality[0]  # (B, C_in, k p) -> (B, k, dim)
        for i, block in enumerate(self.blocks):
            h, state[i] = block.step(h, state[i])
        out = self.head(self.norm(h)).view(x.shape[0], -1, cfg.out_channels, cfg.patch)  # (B, k, C_out, p)
        return out.transpose(1, 2).reshape(x.shape[0], cfg.out_channels, -1), state

    def _kept(self, modality: str, batch: int, device: torch.device) -> torch.Tensor:
        """``(B,)``: which samples keep ``modality`` (modality dropout in training mode; all in eval)."""
        p = self.config.modality_dropout if self.training and modality in self.config.missing_ok else 0.0
        return torch.rand(batch, device=device) >= p if p > 0 else torch.ones(batch, dtype=torch.bool, device=device)

    def _mask(self, keep: torch.Tensor, n_field: int) -> torch.Tensor | None:
        """Boolean attention mask broadcastable to ``(B, H, N, N)`` (``True``: attend), or ``None`` for all-to-all."""
        everyone = bool(keep.all())
        if self.local is None:
            return None if everyone else keep[:, None, None, :]  # (B, N) -> (B, 1, 1, N)
        n = keep.shape[1]
        allowed = torch.ones(n, n, dtype=torch.bool, device=keep.device)
        allowed[:n_field, :n_field] = self.local
        allowed = allowed[None, None]  # (1, 1, N, N)
        return allowed if everyone else allowed & keep[:, None, None, :]  # & (B, 1, 1, N) -> (B, 1, N, N)
