"""Networks: one configurable U-Net serves as transfer encoder, denoiser and baselines.

* :class:`UNet` — residual blocks with GroupNorm/SiLU, optional noise-level embedding and
  mid-block self-attention; inputs of any size (padded to the down-sampling factor).
* :class:`TransferEncoder` — the stage-1 temporal U-Net: ``history`` days as channels → the
  next day; ``features()`` returns its encoder + mid-block output, the frozen transfer
  features of stage 2.
* :class:`NoiseEmbedding` — Fourier features of EDM's ``c_noise``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from finescale.model.samplers import blend_windows, replicate_pad, window_starts

FEATURE_TILE_BATCH = 256  # history windows per encoder call when features are tiled


def _groups(ch: int) -> int:
    for g in (8, 4, 2, 1):
        if ch % g == 0:
            return g
    return 1


def upsample2(h: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-neighbour upsampling to ``size``: a broadcast copy when it doubles ``h``
    (every level of a padded U-Net), in ``h``'s dtype. ``F.interpolate`` under CPU autocast
    casts to float32 and back; on 2 cores it took 2× as long as this copy (same values)."""
    b, c, y, x = h.shape
    if tuple(size) == (2 * y, 2 * x):
        return h[:, :, :, None, :, None].expand(b, c, y, 2, x, 2).reshape(b, c, 2 * y, 2 * x)
    return F.interpolate(h, size=size, mode="nearest")


class GroupNorm(nn.GroupNorm):
    """GroupNorm that keeps bfloat16 activations in bfloat16 under autocast.

    Autocast runs group_norm in float32, so every norm of a bf16 network cast its input up
    and the next convolution cast it back: on a 2-core CPU the norms and casts were half
    of a distilled student's time (torch profiler). PyTorch's kernel accumulates the
    statistics of bf16 input in float32 either way; only the output is rounded to bf16, as
    the next convolution would round it. Same parameters, same checkpoints."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.bfloat16:
            return super().forward(x)
        with torch.autocast(x.device.type, enabled=False):
            return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb: int = 0):
        super().__init__()
        self.n1, self.c1 = GroupNorm(_groups(cin), cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.n2, self.c2 = GroupNorm(_groups(cout), cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.emb = nn.Linear(emb, cout) if emb else None
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, e: torch.Tensor | None = None) -> torch.Tensor:
        h = self.c1(F.silu(self.n1(x)))
        if self.emb is not None and e is not None:
            h = h + self.emb(e)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return h + self.skip(x)


class Attention(nn.Module):
    def __init__(self, ch: int, heads: int = 4):
        super().__init__()
        self.norm = GroupNorm(_groups(ch), ch)
        self.attn = nn.MultiheadAttention(ch, heads if ch % heads == 0 else 1, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        t = self.norm(x).flatten(2).transpose(1, 2)
        out, _ = self.attn(t, t, t, need_weights=False)
        return x + out.transpose(1, 2).reshape(b, c, h, w)


class NoiseEmbedding(nn.Module):
    """Random Fourier features of the scalar noise level, then an MLP."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("freqs", torch.randn(dim // 2) * 4.0, persistent=True)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        a = c_noise[:, None] * self.freqs[None] * 2 * math.pi
        return self.mlp(torch.cat([a.sin(), a.cos()], dim=1))


class UNet(nn.Module):
    """A U-Net with ``len(channels)`` levels (factor 2 between levels)."""

    def __init__(self, *, in_ch: int, out_ch: int, channels: tuple[int, ...] = (32, 64, 128),
                 emb: int = 0, attention: bool = False):
        super().__init__()
        self.levels = len(channels)
        self.emb = NoiseEmbedding(emb) if emb else None
        self.inp = nn.Conv2d(in_ch, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        prev = channels[0]
        for i, ch in enumerate(channels):
            self.down.append(nn.ModuleDict({
                "block": ResBlock(prev, ch, emb),
                "pool": nn.Conv2d(ch, ch, 3, stride=2, padding=1) if i < self.levels - 1
                else nn.Identity()}))
            prev = ch
        self.mid1 = ResBlock(prev, prev, emb)
        self.mid_attn = Attention(prev) if attention else nn.Identity()
        self.mid2 = ResBlock(prev, prev, emb)
        self.up = nn.ModuleList()
        for ch in reversed(channels):
            self.up.append(ResBlock(prev + ch, ch, emb))
            prev = ch
        self.out = nn.Sequential(GroupNorm(_groups(prev), prev), nn.SiLU(),
                                 nn.Conv2d(prev, out_ch, 3, padding=1))

    @property
    def factor(self) -> int:
        return 2 ** (self.levels - 1)

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        h, w = x.shape[-2:]
        ph, pw = (-h) % self.factor, (-w) % self.factor
        if ph or pw:
            x = replicate_pad(x, (0, pw, 0, ph))
        return x, (h, w)

    def _input(self, x: torch.Tensor, shared: torch.Tensor | None) -> torch.Tensor:
        """The input convolution of ``x ⊕ shared``, ``shared`` holding one row per group of
        consecutive rows of ``x``. The convolution is linear, so its part over ``shared``
        is computed once per group: for the members of a window, whose ~70 conditioning
        channels would otherwise be copied, cast and convolved once per member."""
        if shared is None:
            return self.inp(x)
        n, groups = x.shape[1], shared.shape[0]
        own = F.conv2d(x, self.inp.weight[:, :n], self.inp.bias, padding=1)
        common = F.conv2d(shared, self.inp.weight[:, n:], None, padding=1)
        return (own.unflatten(0, (groups, -1)) + common[:, None]).flatten(0, 1)

    def encode(self, x: torch.Tensor, e: torch.Tensor | None = None,
               shared: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Encoder + mid block: the deepest features and the skip tensors (``shared``: see
        :meth:`forward`)."""
        h = self._input(x, shared)
        skips = []
        for i, lvl in enumerate(self.down):
            h = lvl["block"](h, e)
            skips.append(h)
            if i < self.levels - 1:
                h = lvl["pool"](h)
        h = self.mid1(h, e)
        h = self.mid_attn(h)
        h = self.mid2(h, e)
        return h, skips

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor | None = None,
                shared: torch.Tensor | None = None) -> torch.Tensor:
        """``shared``: more input channels, one row per group of consecutive rows of ``x``
        (the same as ``torch.cat([x, shared.repeat_interleave(...)], 1)``, cheaper)."""
        x, (h0, w0) = self._pad(x)
        if shared is not None:
            shared, _ = self._pad(shared)
        e = self.emb(c_noise) if self.emb is not None and c_noise is not None else None
        h, skips = self.encode(x, e, shared)
        for blk, skip in zip(self.up, reversed(skips), strict=True):
            if h.shape[-2:] != skip.shape[-2:]:
                h = upsample2(h, skip.shape[-2:])
            h = blk(torch.cat([h, skip], dim=1), e)
        return self.out(h)[..., :h0, :w0]


class TransferEncoder(nn.Module):
    """Stage 1: ``history`` daily fields as channels → the next day's field."""

    def __init__(self, *, history: int, channels: tuple[int, ...], attention: bool = True):
        super().__init__()
        self.history = history
        self.net = UNet(in_ch=history, out_ch=1, channels=channels, attention=attention)

    @property
    def features_dim(self) -> int:
        return self.net.down[-1]["block"].c2.out_channels

    def forward(self, hist: torch.Tensor) -> torch.Tensor:
        return self.net(hist)

    def features(self, hist: torch.Tensor, size: tuple[int, int], patch: int | None = None,
                 stride: int | None = None, batch: int = FEATURE_TILE_BATCH) -> torch.Tensor:
        """Frozen transfer features, bilinearly upsampled to ``size``.

        ``patch``: the stage-2 training patch (pixels). The downscaler only ever saw features
        computed on patch-sized windows of the history; GroupNorm statistics and zero padding
        make features of a whole map differ (by ~50 % on the default data, which made the
        diffusion model amplify large-scale structure). On a larger map the encoder therefore
        runs on overlapping patch-sized windows (``stride``, default two thirds of a patch) whose
        features are blended with Hann weights.
        """
        h, w = hist.shape[-2:]
        if patch is None or (h <= patch and w <= patch):
            return self._features(hist, size)
        py, px = min(patch, h), min(patch, w)
        step = stride or max(1, 2 * patch // 3)
        corners = [(i, j) for i in window_starts(h, py, step) for j in window_starts(w, px, step)]
        out = blend_windows(lambda t: self._features(t, (py, px)), (hist,), corners, (py, px), 0,
                            hist.new_zeros((hist.shape[0], self.features_dim, h, w),
                                           dtype=torch.float32), batch)
        if tuple(size) != (h, w):
            out = F.interpolate(out, size=size, mode="bilinear", align_corners=False)
        return out

    def _features(self, hist: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Features of each input as a whole (what training computes on its patches)."""
        x, _ = self.net._pad(hist)
        h, _ = self.net.encode(x)
        return F.interpolate(h, size=size, mode="bilinear", align_corners=False)


class ConditionalVAE(nn.Module):
    """Baseline: q(z | target, cond) and p(target | z, cond); samples z ~ N(0, I) at test."""

    def __init__(self, *, cond_ch: int, channels: tuple[int, ...], latent: int):
        super().__init__()
        self.latent = latent
        self.enc = UNet(in_ch=cond_ch + 1, out_ch=2 * latent, channels=channels)
        self.dec = UNet(in_ch=cond_ch + latent, out_ch=1, channels=channels)

    def forward(self, target: torch.Tensor, cond: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.enc(torch.cat([target, cond], 1)).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).mean()
        return self.dec(torch.cat([z, cond], 1)), kl

    def sample(self, cond: torch.Tensor, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        b, _, h, w = cond.shape
        z = torch.randn((b, self.latent, h, w), generator=generator, device=cond.device)
        return self.dec(torch.cat([z, cond], 1))
