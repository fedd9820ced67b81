"""Samplers over a preconditioned denoiser ``D(x, sigma, cond)``.

* :func:`sample_heun` — EDM Algorithm 1 (deterministic 2nd-order Heun): 2 network calls per
  step (:func:`heun_step`, also the distillation's teacher step).
* :func:`sample_dpm2m` — DPM-Solver++(2M) (Lu et al. 2022), the same probability-flow ODE
  with a 2nd-order multistep update: 1 network call per step, reusing the previous one.
* :func:`sample_consistency` — a consistency model's multistep sampling (Song et al. 2023,
  Algorithm 1): one network call per σ of its schedule, fresh noise between calls.
* :func:`sample_ancestral` — DDPM-style ancestral sampling (Euler ancestral, η = 1) over many
  steps, the paper's protocol when combined with :class:`TiledDenoiser`.
* :class:`TiledDenoiser` — evaluates ``D`` on 16 × 16 tiles at stride 2, crops a 4-pixel
  halo and blends the cores with Hann windows, as the authors do.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

DenoiseFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[int, int], None] | None


def replicate_pad(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """``x`` padded by edge replication (``pad`` as in ``F.pad``), in its own dtype: under
    autocast ``F.pad`` would pad a bfloat16 tensor in float32."""
    with torch.autocast(x.device.type, enabled=False):
        return torch.nn.functional.pad(x, pad, mode="replicate")


def karras_sigmas(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """σ_0 > … > σ_{N-1}, then 0 (EDM eq. 5)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    i = torch.arange(steps, dtype=torch.float64, device=device)
    s = (sigma_max ** (1 / rho) + i / max(steps - 1, 1) * (sigma_min ** (1 / rho)
                                                          - sigma_max ** (1 / rho))) ** rho
    return torch.cat([s, s.new_zeros(1)]).float()


def heun_step(denoise: DenoiseFn, x: torch.Tensor, s: torch.Tensor, s_next: torch.Tensor,
              cond: torch.Tensor) -> torch.Tensor:
    """One step of the probability-flow ODE from σ = ``s`` to ``s_next`` (one per sample):
    Heun's 2nd order, or Euler when a ``s_next`` is 0 (EDM Algorithm 1, lines 5-8)."""
    a, b = s.reshape(-1, 1, 1, 1), s_next.reshape(-1, 1, 1, 1)
    d = (x - denoise(x, s, cond)) / a
    x_next = x + (b - a) * d
    if bool((s_next > 0).all()):  # 2nd-order correction
        d2 = (x_next - denoise(x_next, s_next, cond)) / b
        x_next = x + (b - a) * 0.5 * (d + d2)
    return x_next


def sample_heun(denoise: DenoiseFn, noise: torch.Tensor, cond: torch.Tensor,
                sigmas: torch.Tensor, callback: Callback = None) -> torch.Tensor:
    """EDM Algorithm 1 without churn; ``noise`` is unit Gaussian, scaled by σ_0 here."""
    x = noise * sigmas[0]
    n = len(sigmas) - 1
    for i in range(n):
        b = x.shape[0]
        x = heun_step(denoise, x, sigmas[i].expand(b), sigmas[i + 1].expand(b), cond)
        if callback:
            callback(i + 1, n)
    return x


def sample_dpm2m(denoise: DenoiseFn, noise: torch.Tensor, cond: torch.Tensor,
                 sigmas: torch.Tensor, callback: Callback = None) -> torch.Tensor:
    """DPM-Solver++(2M) in σ (t = −log σ): exact for the linear part of the ODE, the
    denoised estimate extrapolated from this step's and the last step's network calls."""
    x = noise * sigmas[0]
    n = len(sigmas) - 1
    prev, h_prev = None, None
    for i in range(n):
        s, s_next = sigmas[i], sigmas[i + 1]
        d = denoise(x, s.expand(x.shape[0]), cond)
        if s_next == 0:  # the last step lands on the denoised estimate
            x = d
        else:
            h = torch.log(s / s_next)
            est = d if prev is None else d + (d - prev) * (h / (2 * h_prev))
            x = (s_next / s) * x - torch.expm1(-h) * est
            prev, h_prev = d, h
        if callback:
            callback(i + 1, n)
    return x


def sample_consistency(denoise: DenoiseFn, noise: torch.Tensor, cond: torch.Tensor,
                       sigmas: torch.Tensor, sigma_min: float,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """A consistency model ``denoise`` maps a noisy field at any σ straight to its clean end;
    each further σ of ``sigmas`` (descending, no 0) re-noises the estimate to that level and
    maps it again."""
    x = denoise(noise * sigmas[0], sigmas[0].expand(noise.shape[0]), cond)
    for s in sigmas[1:]:
        z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = denoise(x + (s**2 - sigma_min**2).clamp(min=0).sqrt() * z,
                    s.expand(x.shape[0]), cond)
    return x


def sample_ancestral(denoise: DenoiseFn, noise: torch.Tensor, cond: torch.Tensor,
                     sigmas: torch.Tensor, generator: torch.Generator | None = None,
                     callback: Callback = None) -> torch.Tensor:
    """Ancestral sampling (Euler ancestral with η = 1, the DDPM posterior in σ form)."""
    x = noise * sigmas[0]
    n = len(sigmas) - 1
    for i in range(n):
        s, s_next = sigmas[i], sigmas[i + 1]
        x0 = denoise(x, s.expand(x.shape[0]), cond)
        s_up = (s_next**2 * (s**2 - s_next**2) / s**2).clamp(min=0).sqrt()
        s_down = (s_next**2 - s_up**2).clamp(min=0).sqrt()
        x = x + (x - x0) / s * (s_down - s)
        if s_next > 0:
            x = x + torch.randn(x.shape, generator=generator, device=x.device,
                                dtype=x.dtype) * s_up
        if callback:
            callback(i + 1, n)
    return x


def window_starts(n: int, k: int, step: int) -> list[int]:
    """Starts of windows of ``k`` every ``step`` covering ``n`` pixels; the last one ends at
    ``n`` (shifted back inside), a single start 0 when ``n <= k``."""
    last = max(n - k, 0)
    s = list(range(0, last + 1, step))
    return s if s[-1] == last else [*s, last]


def hann2d(h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """A separable Hann window that is positive everywhere (end zeros dropped), so every
    pixel of a window core gets weight."""
    kw = {"periodic": False, "dtype": like.dtype, "device": like.device}
    return torch.hann_window(h + 2, **kw)[1:-1, None] * torch.hann_window(w + 2, **kw)[None, 1:-1]


class BatchSize:
    """Crops per network call, halved when the device runs out of memory and remembered, so
    a sampler on a GPU starts from every window of every member in one call and settles on
    the largest batch that fits."""

    def __init__(self, value: int):
        self.value = max(1, int(value))

    def shrink(self) -> None:
        if self.value == 1:
            raise torch.cuda.OutOfMemoryError("out of memory with one window per call")
        self.value //= 2
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def blend_windows(fn: Callable[..., torch.Tensor], inputs: tuple[torch.Tensor, ...],
                  corners: list[tuple[int, int]], window: tuple[int, int], halo: int,
                  out: torch.Tensor, batch: int | BatchSize) -> torch.Tensor:
    """Run ``fn`` on the ``window``-sized crops of ``inputs`` at ``corners`` (up to ``batch``
    crops, members included, per call; a :class:`BatchSize` shrinks on out-of-memory) and
    Hann-blend the crops' cores (``halo`` cut from each side) into ``out``, whose grid is
    the inputs' less the halo. One implementation for the tiled denoiser and the windowed
    transfer features."""
    size = batch if isinstance(batch, BatchSize) else BatchSize(batch)
    b = inputs[0].shape[0]
    ky, kx = window
    cy, cx = ky - 2 * halo, kx - 2 * halo
    win = hann2d(cy, cx, out)
    wsum = out.new_zeros((1, 1, *out.shape[-2:]))
    k = 0
    while k < len(corners):
        chunk = corners[k: k + max(1, size.value // b)]
        crops = [torch.cat([t[..., i: i + ky, j: j + kx] for i, j in chunk]) for t in inputs]
        try:
            res = fn(*crops)[..., halo: halo + cy, halo: halo + cx]
        except torch.cuda.OutOfMemoryError:
            if size.value <= b and len(chunk) == 1:
                raise
            size.value = min(size.value, len(chunk) * b)
            size.shrink()
            continue
        for n, (i, j) in enumerate(chunk):  # add_: `a[view] += x` copies the view back
            out[..., i: i + cy, j: j + cx].add_(res[n * b: (n + 1) * b] * win)
            wsum[..., i: i + cy, j: j + cx].add_(win)
        k += len(chunk)
    return out / wsum


class TiledDenoiser:
    """Apply ``denoise`` tile by tile and blend (the authors' 16 × 16 / stride-2 protocol)."""

    def __init__(self, denoise: DenoiseFn, *, tile: int = 16, stride: int = 2, halo: int = 4,
                 batch: int | BatchSize = 512):
        if not 0 <= 2 * halo < tile:
            raise ValueError(f"halo must be in [0, tile/2), got halo={halo}, tile={tile}")
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.denoise, self.tile, self.stride, self.halo = denoise, tile, stride, halo
        self.batch = batch if isinstance(batch, BatchSize) else BatchSize(batch)

    def tiles(self, h: int, w: int) -> list[tuple[int, int]]:
        """Top-left corners (in halo-padded coordinates) covering an h × w map."""
        core = self.tile - 2 * self.halo

        def starts(n: int) -> list[int]:
            return window_starts(n, core, self.stride)

        return [(i, j) for i in starts(h) for j in starts(w)]

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor
                 ) -> torch.Tensor:
        b, _, h, w = x.shape
        p = self.halo
        xp, cp = replicate_pad(x, (p, p, p, p)), replicate_pad(cond, (p, p, p, p))
        return blend_windows(
            lambda xs, cs: self.denoise(xs, sigma.repeat(xs.shape[0] // b), cs), (xp, cp),
            self.tiles(h, w), (self.tile, self.tile), p, torch.zeros_like(x), self.batch)
