"""The options of a :class:`~physml.models.MultimodalTransformer`: what it reads (fields, text, image, video), how
it cuts them into tokens and how large its trunk is; every combination that cannot work is a ``ValueError`` here,
at construction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from physml.models.attention import ATTENTION

__all__ = ["MODALITIES", "MultimodalConfig"]

#: The optional inputs, in their order in the token sequence (after the field patches).
MODALITIES = ("text", "image", "video")
#: The inputs a config takes unless told otherwise (a video is asked for by name).
DEFAULT_MODALITIES = ("text", "image")


@dataclass(frozen=True)
class MultimodalConfig:
    """Architecture of a :class:`MultimodalTransformer`.

    ``field_size`` is the grid ``(X,)`` or ``(X, Y)`` (so ``ndim``, a property,
    is 1 or 2), cut into ``patch``-wide patches. ``modalities`` are the optional
    inputs the model accepts; ``missing_ok`` those it may be called without. In
    training mode each sample drops each given ``missing_ok`` modality with
    probability ``modality_dropout`` (its tokens are masked as keys: exactly the
    model without it), so a model with ``missing_ok`` is trained to work without.
    ``mlp_ratio`` sets the SwiGLU hidden width, ``int(mlp_ratio * dim)``;
    ``attention`` is ``"sdpa"`` or ``"reference"`` (the same numbers, slower) or
    ``"linear"`` (linear attention). ``causal`` (1D fields, no text or image):
    each patch sees itself and the patches before it. ``spectral_skip > 0``
    adds a linear spectral convolution from the input fields straight to the
    output (that many Fourier modes per axis, full resolution, zero at the start). ``norm_eps`` is the RMS norms'
    epsilon (a model grown wider by :func:`~physml.models.grow` scales it to start as the narrower one).

    A ``video`` is a clip ``(B, video_frames, video_channels, *video_size)`` (RGB frames in [0, 1]), cut into
    tubelets of ``tubelet`` frames by ``video_patch`` x ``video_patch`` pixels (2D fields only).
    ``read_fields = False`` withholds the field arrays: the model predicts the fields from the video (and what else
    it is shown), its head reading the video tokens of the last tubelet slice.
    """

    in_channels: int
    out_channels: int
    field_size: tuple[int, ...]
    patch: int = 4
    dim: int = 64
    depth: int = 4
    n_heads: int = 4
    n_kv_heads: int = 2
    mlp_ratio: float = 8 / 3
    vocab_size: int = 512
    text_length: int = 64
    image_channels: int = 3
    image_size: tuple[int, int] = (32, 32)
    image_patch: int = 8
    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    missing_ok: tuple[str, ...] = DEFAULT_MODALITIES
    modality_dropout: float = 0.1
    window: int = 0
    dropout: float = 0.0
    rope_base: float = 10000.0
    init_std: float = 0.02
    attention: str = "sdpa"
    noise_embedding: bool = False
    causal: bool = False
    spectral_skip: int = 0
    norm_eps: float = 1e-6
    video_channels: int = 3
    video_frames: int = 2
    video_size: tuple[int, int] = (32, 32)
    video_patch: int = 8
    tubelet: int = 2
    read_fields: bool = True
    #: Whether the blocks mix tokens by attention (the head and rotary options then apply).
    attends: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for name in ("field_size", "image_size", "modalities", "missing_ok", "video_size"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        ints = ("in_channels", "out_channels", "patch", "dim", "depth", "n_heads", "n_kv_heads", "text_length")
        sizes = ("image_channels", "image_patch", "video_channels", "video_frames", "video_patch", "tubelet")
        for name in (*ints, *sizes):
            self._check(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name, "an int >= 1")
        self._check(len(self.field_size) in (1, 2), "field_size", "(X,) or (X, Y)")
        self._check(_divisible(self.field_size, self.patch), "field_size", f"multiples of patch = {self.patch}")
        self._check(len(self.image_size) == 2 and _divisible(self.image_size, self.image_patch), "image_size",
                    f"(H, W), multiples of image_patch = {self.image_patch}")  # fmt: skip
        heads_fit = self.dim % self.n_heads == 0 and (self.dim // self.n_heads) % 4 == 0
        self._check(heads_fit or not self.attends, "n_heads",
                    f"a divisor of dim = {self.dim} leaving a head_dim that is a multiple of 4")  # fmt: skip
        self._check(self.n_heads % self.n_kv_heads == 0, "n_kv_heads", f"a divisor of n_heads = {self.n_heads}")
        self._check(self.vocab_size >= 2, "vocab_size", ">= 2 (id 0 is the pad)")
        self._check(len(set(self.modalities)) == len(self.modalities) and set(self.modalities) <= {*MODALITIES},
                    "modalities", f"distinct names from {MODALITIES}")  # fmt: skip
        self._check(set(self.missing_ok) <= set(self.modalities), "missing_ok", f"a subset of {self.modalities}")
        self._check(self.mlp_ratio > 0 and int(self.mlp_ratio * self.dim) >= 1, "mlp_ratio", "> 0")
        self._check(0 <= self.modality_dropout <= 1, "modality_dropout", "[0, 1]")
        self._check(0 <= self.dropout < 1, "dropout", "[0, 1)")
        self._check(isinstance(self.window, int) and self.window >= 0, "window", "an int >= 0 (0: global)")
        self._check(self.rope_base > 1, "rope_base", "> 1")
        self._check(self.init_std > 0, "init_std", "> 0")
        self._check(self.norm_eps > 0, "norm_eps", "> 0")
        self._check(self.attention in ATTENTION, "attention", f"one of {', '.join(ATTENTION)}")
        self._check(isinstance(self.noise_embedding, bool), "noise_embedding", "true or false")
        self._check(isinstance(self.causal, bool), "causal", "true or false")
        linear_window = self.attention == "linear" and self.window
        self._check(not linear_window, "window", "0 with attention = 'linear' (which has no mask between pairs)")
        if "video" in self.modalities:
            self._check(self.ndim == 2, "modalities", "without 'video' for 1D fields (a film shows a 2D field)")
            self._check(len(self.video_size) == 2 and _divisible(self.video_size, self.video_patch), "video_size",
                        f"(H, W), multiples of video_patch = {self.video_patch}")  # fmt: skip
            self._check(self.video_frames % self.tubelet == 0, "tubelet",
                        f"a divisor of video_frames = {self.video_frames}")  # fmt: skip
            video_grid = tuple(n // self.video_patch for n in self.video_size)
            self._check(video_grid == self.grid, "video_size", f"{self.video_patch} x the field's patch grid "
                        f"{self.grid} (each tubelet over a field patch)")  # fmt: skip
        self._check(isinstance(self.read_fields, bool), "read_fields", "true or false")
        if not self.read_fields:
            film = "video" in self.modalities and "video" not in self.missing_ok
            watched = f"modalities = {self.modalities}, missing_ok = {self.missing_ok}"
            self._check(film, "read_fields", f"true unless the model always watches a video ({watched}): it reads "
                        "the fields from the film")  # fmt: skip
            self._check(not self.window, "read_fields", "true with window > 0 (a window over field patches)")
            self._check(not self.spectral_skip, "read_fields", "true with spectral_skip (which reads the fields)")
        if self.causal:
            self._check(self.ndim == 1, "causal", "false for 2D fields (a causal order is a 1D sequence)")
            reads = f"false with modalities = {self.modalities} (a causal model reads fields only: modalities: [])"
            self._check(not self.modalities, "causal", reads)
            self._check(not self.noise_embedding, "causal", "false with noise_embedding (a denoiser reads everything)")
            self._check(not self.spectral_skip, "causal", "false with spectral_skip (a Fourier transform reads all)")
        limits = [*(n for n in self.field_size[:-1]), self.field_size[-1] // 2 + 1]
        skip_fits = isinstance(self.spectral_skip, int) and 0 <= self.spectral_skip <= min(limits)
        self._check(skip_fits, "spectral_skip", f"an int in 0 .. {min(limits)} (the modes the grid holds)")

    def _check(self, ok: bool, name: str, allowed: str) -> None:
        if not ok:
            raise ValueError(f"{type(self).__name__}.{name} = {getattr(self, name)!r} is invalid: must be {allowed}")

    @property
    def ndim(self) -> int:
        """Spatial dimensions of the fields: ``len(field_size)``."""
        return len(self.field_size)

    @property
    def grid(self) -> tuple[int, ...]:
        """Field patches along each axis."""
        return tuple(n // self.patch for n in self.field_size)

    def check_inputs(
        self, x: torch.Tensor, text: torch.Tensor | None, image: torch.Tensor | None, video: torch.Tensor | None
    ) -> None:
        """``ValueError`` naming the input of a forward pass that does not fit this model, and what would."""
        cfg = self
        if x.ndim != 2 + cfg.ndim or x.shape[1] != cfg.in_channels or tuple(x.shape[2:]) != cfg.field_size:
            raise ValueError(
                f"x shape = {tuple(x.shape)} is invalid: must be (B, in_channels, *field_size) = "
                f"(B, {cfg.in_channels}, {', '.join(map(str, cfg.field_size))}) for this {cfg.ndim}D model"
            )
        given = {"text": text, "image": image, "video": video}
        for name, value in given.items():
            if value is None and name in cfg.modalities and name not in cfg.missing_ok:
                raise ValueError(
                    f"{name} = None is invalid: this model was never trained without {name} (missing_ok = "
                    f"{cfg.missing_ok}); pass {name}, or train a model with {name!r} in missing_ok"
                )
            if value is not None and name not in cfg.modalities:
                raise ValueError(f"{name} was given, but this model takes no {name} (modalities = {cfg.modalities})")
        if text is not None:
            if text.dtype.is_floating_point or text.dtype.is_complex or text.dtype == torch.bool or text.ndim != 2:
                raise ValueError(f"text of dtype {text.dtype}, shape {tuple(text.shape)} is invalid: integer (B, L)")
            if not 1 <= text.shape[1] <= cfg.text_length:
                raise ValueError(f"text length = {text.shape[1]} is invalid: must be 1 .. {cfg.text_length} "
                                 "(text_length)")  # fmt: skip
            low, high = int(text.min()), int(text.max())
            if low < 0 or high >= cfg.vocab_size:
                raise ValueError(f"text ids in [{low}, {high}] are invalid: must lie in [0, vocab_size = "
                                 f"{cfg.vocab_size})")  # fmt: skip
        expected = (cfg.image_channels, *cfg.image_size)
        if image is not None and (image.ndim != 4 or tuple(image.shape[1:]) != expected):
            raise ValueError(
                f"image shape = {tuple(image.shape)} is invalid: must be (B, image_channels, *image_size) = "
                f"(B, {', '.join(map(str, expected))})"
            )
        expected = (cfg.video_frames, cfg.video_channels, *cfg.video_size)
        if video is not None and (video.ndim != 5 or tuple(video.shape[1:]) != expected):
            raise ValueError(
                f"video shape = {tuple(video.shape)} is invalid: must be (B, video_frames, video_channels, "
                f"*video_size) = (B, {', '.join(map(str, expected))})"
            )
        for name, value in given.items():
            if value is not None and value.shape[0] != x.shape[0]:
                raise ValueError(f"{name} batch size = {value.shape[0]} is invalid: must equal x's, {x.shape[0]}")


def _divisible(size: tuple[int, ...], patch: int) -> bool:
    return all(isinstance(n, int) and n >= patch and n % patch == 0 for n in size)
