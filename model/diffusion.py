"""EDM preconditioning and loss (Karras et al. 2022, "Elucidating the design space…").

The network never sees the noise maths: :class:`Denoiser` wraps it as
``D(x; σ, cond) = c_skip(σ) x + c_out(σ) F(c_in(σ) x ⊕ cond; c_noise(σ))`` (Table 1) and the
samplers only ever call ``D``.
"""

from __future__ import annotations

import torch
from torch import nn


def c_skip(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    return sigma_data**2 / (sigma**2 + sigma_data**2)  # EDM Table 1


def c_out(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    return sigma * sigma_data / (sigma**2 + sigma_data**2).sqrt()  # EDM Table 1


def c_in(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    return 1 / (sigma**2 + sigma_data**2).sqrt()  # EDM Table 1


def c_noise(sigma: torch.Tensor) -> torch.Tensor:
    return sigma.log() / 4  # EDM Table 1


def loss_weight(sigma: torch.Tensor, sigma_data: float) -> torch.Tensor:
    return (sigma**2 + sigma_data**2) / (sigma * sigma_data) ** 2  # λ(σ), EDM eq. 8


class Denoiser(nn.Module):
    """Preconditioned denoiser around a conditional U-Net."""

    def __init__(self, net: nn.Module, *, sigma_data: float):
        super().__init__()
        self.net = net
        self.sigma_data = float(sigma_data)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """``cond`` has a row per row of ``x``, or one per group of consecutive rows that
        share it (the members of a day, of a window): the samplers keep one copy of the
        conditioning, not one per member."""
        s = sigma.reshape(-1, 1, 1, 1).to(x.dtype)
        sd = self.sigma_data
        if cond.shape[0] == x.shape[0]:  # in cond's dtype: bf16 where a sampler cast it so
            f = self.net(torch.cat([(c_in(s, sd) * x).to(cond.dtype), cond], dim=1),
                         c_noise(s).flatten())
        else:  # the network's input convolution sees each shared row once (UNet.forward)
            f = self.net(c_in(s, sd) * x, c_noise(s).flatten(), shared=cond)
        return c_skip(s, sd) * x + c_out(s, sd) * f

    def loss(self, target: torch.Tensor, cond: torch.Tensor, *, p_mean: float, p_std: float
             ) -> torch.Tensor:
        """Weighted denoising loss with log-normal σ (EDM eq. 2 and §5)."""
        b = target.shape[0]
        sigma = (torch.randn(b, device=target.device) * p_std + p_mean).exp()
        noisy = target + torch.randn_like(target) * sigma.reshape(-1, 1, 1, 1)
        w = loss_weight(sigma, self.sigma_data).reshape(-1, 1, 1, 1)
        return (w * (self(noisy, sigma, cond) - target) ** 2).mean()
