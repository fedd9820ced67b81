from __future__ import annotations

import numpy as np
import pytest
import torch

from finescale.model.config import SamplerConfig
from finescale.model.diffusion import Denoiser, c_in, c_out, c_skip
from finescale.model.networks import ConditionalVAE, GroupNorm, TransferEncoder, UNet, upsample2
from finescale.model.samplers import (
    TiledDenoiser,
    karras_sigmas,
    sample_ancestral,
    sample_dpm2m,
    sample_heun,
)


@pytest.mark.parametrize("shape", [(16, 16), (37, 29)])
def test_unet_any_size(shape):
    net = UNet(in_ch=3, out_ch=1, channels=(8, 16, 16), emb=16, attention=True)
    y = net(torch.randn(2, 3, *shape), torch.zeros(2))
    assert y.shape == (2, 1, *shape)


def test_encoder_features_shape():
    enc = TransferEncoder(history=5, channels=(8, 8, 16))
    assert enc(torch.randn(2, 5, 16, 16)).shape == (2, 1, 16, 16)
    f = enc.features(torch.randn(2, 5, 20, 24), size=(20, 24))
    assert f.shape == (2, enc.features_dim, 20, 24)


def test_preconditioning_limits():
    sd = 0.5
    s = torch.tensor([1e-4, 1e4])
    assert c_skip(s, sd)[0] == pytest.approx(1, abs=1e-6) and c_skip(s, sd)[1] < 1e-6
    assert c_out(s, sd)[0] == pytest.approx(1e-4, rel=1e-3)
    # unit variance of the network input at every noise level
    assert c_in(torch.tensor(2.0), sd) * (4 + sd**2) ** 0.5 == pytest.approx(1)


class _Oracle(torch.nn.Module):
    """Ideal denoiser for data that is always the constant field ``value``."""

    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def forward(self, x, sigma, cond):
        return torch.full_like(x, self.value)


def test_samplers_recover_a_point_mass():
    sig = karras_sigmas(12, 0.002, 10.0)
    assert sig[0] == pytest.approx(10) and sig[-1] == 0 and (sig[:-1] > sig[1:]).all()
    noise = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    cond = torch.zeros(3, 1, 8, 8)
    for out in (sample_heun(_Oracle(0.3), noise, cond, sig),
                sample_dpm2m(_Oracle(0.3), noise, cond, sig),
                sample_ancestral(_Oracle(0.3), noise, cond, sig,
                                 torch.Generator().manual_seed(1))):
        assert torch.allclose(out, torch.full_like(out, 0.3), atol=1e-4)


class _GaussianOracle(torch.nn.Module):
    """Ideal denoiser for data ~ N(mu, s0²) per pixel: the ODE's exact solution is known."""

    def __init__(self, mu: float, s0: float):
        super().__init__()
        self.mu, self.s0 = mu, s0

    def forward(self, x, sigma, cond):
        s2 = sigma.reshape(-1, 1, 1, 1) ** 2
        return self.mu + self.s0**2 / (self.s0**2 + s2) * (x - self.mu)

    def exact(self, x_start: torch.Tensor, sigma_start: float) -> torch.Tensor:
        return self.mu + self.s0 / (self.s0**2 + sigma_start**2) ** 0.5 * (x_start - self.mu)


def test_dpm2m_solves_the_flow_ode_with_half_the_network_calls_of_heun():
    """On a Gaussian, where the probability-flow ODE has a closed form, DPM-Solver++(2M)
    with N calls is as close to it as Heun with 2N − 1, and 2nd order: doubling the steps
    cuts its error by about 4 (here 0.23 → 0.058 → 0.012 at 8, 16, 32 steps)."""
    oracle = _GaussianOracle(0.3, 0.5)
    noise = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    cond = torch.zeros_like(noise)
    calls = []

    def counted(x, s, c):
        calls.append(1)
        return oracle(x, s, c)

    def err(sampler, steps: int) -> float:
        sig = karras_sigmas(steps, 0.002, 10.0)
        calls.clear()
        out = sampler(counted, noise, cond, sig)
        return float((out - oracle.exact(noise * 10.0, 10.0)).abs().max()), len(calls)

    (e8, n8), (e16, _) = err(sample_dpm2m, 8), err(sample_dpm2m, 16)
    eh, nh = err(sample_heun, 8)
    assert (n8, nh) == (8, 15)
    assert (n8, nh) == (SamplerConfig(steps=8, solver="dpm2m").network_calls,
                        SamplerConfig(steps=8, solver="heun").network_calls)
    assert e8 <= eh
    assert e16 < e8 / 3


def test_tiled_denoiser_equals_pointwise_model():
    """With a per-pixel model, tiling + Hann blending must reproduce the full-map call."""
    conv = torch.nn.Conv2d(2, 1, 1)
    model = lambda x, s, c: conv(torch.cat([x, c], 1))  # noqa: E731
    tiled = TiledDenoiser(model, tile=16, stride=2, halo=4)
    x, c = torch.randn(2, 1, 21, 30), torch.randn(2, 1, 21, 30)
    with torch.no_grad():
        assert torch.allclose(tiled(x, torch.ones(2), c), model(x, None, c), atol=1e-5)
    # starts every 2 px, plus a last tile flush with the edge when the stride misses it
    assert len(tiled.tiles(21, 30)) == (len(range(0, 14, 2)) + 1) * len(range(0, 23, 2))


def test_members_share_one_row_of_conditioning_on_windows_and_whole():
    """The samplers keep one copy of the conditioning for all members; a denoiser given it
    makes what it makes from a copy per member, on the whole map and on windows."""
    den = Denoiser(UNet(in_ch=3, out_ch=1, channels=(8, 8), emb=16), sigma_data=0.2).eval()
    sig = karras_sigmas(3, 0.002, 5.0)
    cond = torch.randn(1, 2, 22, 30)
    n = torch.randn(4, 1, 22, 30, generator=torch.Generator().manual_seed(0))
    tiled = TiledDenoiser(den, tile=16, stride=5, halo=2, batch=8)  # 2 windows × 4 members a call
    with torch.no_grad():
        for fn in (den, tiled):
            one, each = (sample_dpm2m(fn, n, c, sig) for c in (cond, cond.expand(4, -1, -1, -1)))
            assert one.shape == (4, 1, 22, 30)
            assert torch.allclose(one, each, atol=1e-6)
            assert not torch.allclose(one[0], one[1])  # the members still differ


def test_shared_input_rows_give_the_concatenated_input_at_any_size_and_precision():
    """UNet(x, shared=c) is UNet(x ⊕ c repeated per member): exactly in float32, to bf16's
    rounding under autocast, also on a size the U-Net pads."""
    net = UNet(in_ch=3, out_ch=1, channels=(8, 16, 16), emb=16).eval()
    x, c = torch.randn(6, 1, 21, 31), torch.randn(2, 2, 21, 31)  # 2 windows × 3 members
    e = torch.rand(6)
    with torch.no_grad():
        full = net(torch.cat([x, c.repeat_interleave(3, 0)], 1), e)
        assert torch.allclose(net(x, e, shared=c), full, atol=1e-5)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = net(x, e, shared=c)
        assert half.dtype == torch.bfloat16
        assert (half.float() - full).abs().mean() < 0.02 * full.std()


def test_bf16_stays_bf16_through_norms_and_upsampling():
    """Under autocast the norms and the decoder's upsampling keep bf16 (autocast would make
    them float32 and cast back); values as in float32 to bf16's rounding, nearest exact."""
    h = torch.randn(3, 8, 5, 7)
    assert torch.equal(upsample2(h, (10, 14)), torch.nn.functional.interpolate(h, (10, 14)))
    assert torch.equal(upsample2(h, (9, 14)), torch.nn.functional.interpolate(h, (9, 14)))
    gn = GroupNorm(4, 8)
    torch.nn.init.normal_(gn.weight), torch.nn.init.normal_(gn.bias)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = gn(h.bfloat16())
        assert upsample2(h.bfloat16(), (10, 14)).dtype == torch.bfloat16
    assert out.dtype == torch.bfloat16
    with torch.no_grad():
        ref = gn(h.bfloat16().float())
    assert torch.allclose(out.float(), ref, atol=0.05, rtol=0.02)


def test_heun_deterministic_ancestral_seeded():
    den = Denoiser(UNet(in_ch=2, out_ch=1, channels=(8, 8), emb=16), sigma_data=0.2).eval()
    sig = karras_sigmas(4, 0.002, 5.0)
    cond = torch.randn(1, 1, 16, 16)
    n = torch.randn(1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a, b = sample_heun(den, n, cond, sig), sample_heun(den, n, cond, sig)
        assert torch.equal(a, b)
        g = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
        c1 = sample_ancestral(den, n, cond, sig, g(1))
        c2 = sample_ancestral(den, n, cond, sig, g(1))
        c3 = sample_ancestral(den, n, cond, sig, g(2))
    assert torch.equal(c1, c2) and not torch.equal(c1, c3)


def test_vae_shapes():
    vae = ConditionalVAE(cond_ch=3, channels=(8, 8), latent=2)
    rec, kl = vae(torch.randn(2, 1, 16, 16), torch.randn(2, 3, 16, 16))
    assert rec.shape == (2, 1, 16, 16) and kl >= 0
    assert vae.sample(torch.randn(2, 3, 16, 16)).shape == (2, 1, 16, 16)


def _encoder() -> TransferEncoder:
    torch.manual_seed(0)
    return TransferEncoder(history=5, channels=(8, 8, 16), attention=True).eval()


def test_tiled_features_equal_each_training_window():
    """With windows that do not overlap, every window's features are exactly those of the
    window alone, as the downscaler saw them in training."""
    enc, hist = _encoder(), torch.randn(2, 5, 32, 48)
    with torch.no_grad():
        f = enc.features(hist, size=(32, 48), patch=16, stride=16)
        for i, j in ((0, 0), (16, 16), (16, 32)):
            np.testing.assert_allclose(f[..., i:i + 16, j:j + 16],
                                       enc.features(hist[..., i:i + 16, j:j + 16], (16, 16)),
                                       atol=1e-5)
        assert torch.equal(enc.features(hist[..., :16, :16], (16, 16), patch=16),
                           enc.features(hist[..., :16, :16], (16, 16)))  # patch-sized: as is


def test_tiled_features_do_not_see_far_away_history():
    """Features over a map are local like training patches: history changed far away leaves
    them unchanged, while whole-map features (GroupNorm over the map) shift everywhere."""
    enc, hist = _encoder(), torch.randn(1, 5, 64, 64)
    far = hist.clone()
    far[..., 40:, 40:] += 3.0
    with torch.no_grad():
        tiled = enc.features(hist, (64, 64), patch=16), enc.features(far, (64, 64), patch=16)
        whole = enc.features(hist, (64, 64)), enc.features(far, (64, 64))
    assert torch.equal(tiled[0][..., :16, :16], tiled[1][..., :16, :16])
    assert not torch.allclose(whole[0][..., :16, :16], whole[1][..., :16, :16], atol=1e-3)


def test_windows_batch_shrinks_on_out_of_memory_and_gives_the_same_field():
    """On a GPU every window of every member goes in one call; when that does not fit, the
    batch halves (and stays halved) until it does, and the blended field is unchanged."""
    from finescale.model.samplers import BatchSize, TiledDenoiser

    torch.manual_seed(0)
    x, cond = torch.randn(2, 1, 40, 36), torch.randn(2, 3, 40, 36)
    sigma = torch.ones(2)
    calls = []

    def den(xs, s, cs):
        calls.append(xs.shape[0])
        if xs.shape[0] > 12:  # "memory" holds 12 crops (6 windows of 2 members)
            raise torch.cuda.OutOfMemoryError("fake")
        return xs * 0.5 + cs[:, :1] * s[:, None, None, None]

    ref = TiledDenoiser(lambda xs, s, cs: xs * 0.5 + cs[:, :1] * s[:, None, None, None],
                        tile=16, stride=6, halo=2, batch=8)(x, sigma, cond)
    size = BatchSize(1 << 20)
    tiled = TiledDenoiser(den, tile=16, stride=6, halo=2, batch=size)
    out = tiled(x, sigma, cond)
    torch.testing.assert_close(out, ref)
    assert size.value <= 12 and max(calls) > 12  # it tried everything at once first
    calls.clear()
    tiled(x, sigma, cond)
    assert max(calls) <= 12  # and remembered what fits


def test_day_noise_is_unit_variance_ar1_over_days_and_stateless():
    """Each member's initial noise remembers the previous day's by ρ (AR(1)), keeps unit
    variance, is the same whichever roll-out reaches the day, and ρ = 0 is the day's own
    draw (the independent noise of before)."""
    import pandas as pd
    import torch

    from finescale.model.inference import day_generator, day_noise

    cpu = torch.device("cpu")
    shape = (2, 1, 64, 64)
    days = pd.date_range("2006-07-01", periods=12)
    for rho in (0.3, 0.6):
        z = torch.stack([day_noise(shape, d, 7, rho, cpu)[0] for d in days])
        assert abs(float(z.std()) - 1) < 0.02
        r1 = float(torch.corrcoef(torch.stack([z[:-1].flatten(), z[1:].flatten()]))[0, 1])
        r2 = float(torch.corrcoef(torch.stack([z[:-2].flatten(), z[2:].flatten()]))[0, 1])
        assert abs(r1 - rho) < 0.02 and abs(r2 - rho**2) < 0.02
        # members stay independent of each other
        members = torch.corrcoef(torch.stack([z[:, 0].flatten(), z[:, 1].flatten()]))
        assert abs(float(members[0, 1])) < 0.02
    again, gen = day_noise(shape, days[5], 7, 0.6, cpu)
    assert torch.equal(again, torch.stack([day_noise(shape, d, 7, 0.6, cpu)[0]
                                           for d in days])[5])  # no state: same day, same noise
    plain = day_generator(7, days[5], cpu)
    assert torch.equal(day_noise(shape, days[5], 7, 0.0, cpu)[0],
                       torch.randn(shape, generator=plain))
    # the generator goes on where the day's own draw left it (a distilled model's re-noising)
    assert torch.equal(torch.randn(3, generator=gen), torch.randn(3, generator=plain))


def test_each_model_samples_with_its_own_noise_memory_unless_the_sampler_sets_one():
    from finescale.model.config import SamplerConfig
    from finescale.model.kinds import noise_rho

    own = SamplerConfig()
    assert own.noise_rho is None
    assert [noise_rho(own, k) for k in ("diffusion", "ablation", "distilled")] == [0.3, 0.5, 0.3]
    assert noise_rho(own, "unet") == noise_rho(own, "vae") == 0.0  # no sampler noise to keep
    assert noise_rho(SamplerConfig(noise_rho=0.5), "distilled") == 0.5
    assert noise_rho(SamplerConfig(noise_rho=0.0), "diffusion") == 0.0


def test_the_papers_sampler_draws_what_the_fast_one_draws_on_an_oracle():
    """On Gaussian data N(0.3, 0.5²) per pixel with its ideal denoiser, the paper's protocol
    (ancestral DDPM over 16-px tiles blended with Hann windows, 200 steps) and the fast one
    (DPM-Solver++(2M) on training-size windows, 32 steps) both draw the data's spread: 0.5
    within the sampling error of 32 members × 24² pixels, and a mean within 0.3 ± 0.025 (both
    start from N(0, σ_max²) with σ_max = 10, not from the data's mean: −0.015). The fast one
    is the probability-flow ODE, so each member is its own noise carried to the exact
    solution; the ancestral one adds noise on the way. A sampler that adds too much or too
    little noise per step, or tiles that mis-blend, move the spread."""
    from finescale.model.config import DownscalerConfig
    from finescale.model.kinds import kind

    oracle = _GaussianOracle(0.3, 0.5)
    cond = torch.zeros(1, 2, 24, 24)
    cfg = DownscalerConfig(patch=16)
    drawn = {}
    for protocol, steps in (("paper", 200), ("fast", 32)):
        s = SamplerConfig(protocol=protocol, steps=steps, tile_stride=8)
        with torch.no_grad():
            drawn[protocol] = kind("diffusion").sample(
                oracle, cond, s, cfg, torch.Generator().manual_seed(0), members=32)
    for protocol, x in drawn.items():
        assert x.shape == (32, 1, 24, 24)
        assert float(x.mean()) == pytest.approx(0.3, abs=0.025), protocol
        assert float(x.std()) == pytest.approx(0.5, abs=0.015), protocol
    noise = torch.randn((32, 1, 24, 24), generator=torch.Generator().manual_seed(0))
    sigma_max = SamplerConfig().sigma_max
    exact = oracle.exact(noise * sigma_max, sigma_max)
    assert float((drawn["fast"] - exact).abs().mean()) < 0.01
    assert float((drawn["paper"] - exact).abs().mean()) > 0.1  # other draws of the same law


@pytest.mark.parametrize("name,sampler", [
    ("diffusion", SamplerConfig(precision="bf16", steps=3)),  # windows, members apart
    ("diffusion", SamplerConfig(precision="bf16", steps=3, windows=False)),  # whole, padded
    ("diffusion", SamplerConfig(precision="bf16", protocol="paper", steps=2, tile_stride=6)),
    ("distilled", SamplerConfig(precision="bf16", calls=2)),
])
def test_conditioning_cast_to_bf16_first_reaches_the_network_bit_for_bit(monkeypatch, name,
                                                                         sampler):
    """A bf16 sampler casts the conditioning (and the encoder's history) to bf16 before it
    is padded and cut into windows — half the bytes to move — because the network's first
    convolution would cast it there under autocast anyway: the same bits come out as from
    the conditioning kept in float32."""
    from finescale.model import kinds
    from finescale.model.config import DownscalerConfig

    torch.manual_seed(0)
    cfg = DownscalerConfig(patch=16, channels=(8, 8, 16), student_sigmas=(2.0, 0.5))
    model = Denoiser(UNet(in_ch=3, out_ch=1, channels=cfg.channels, emb=16),
                     sigma_data=0.2).eval()
    cond = torch.randn(3, 2, 22, 37)  # a row per member; 22 × 37: the U-Net pads it

    def draw():
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return kinds.kind(name).sample(model, cond, sampler, cfg,
                                           torch.Generator().manual_seed(1), 3)

    cast = draw()
    monkeypatch.setattr(kinds, "network_dtype", lambda t, s: t)
    assert torch.equal(cast, draw())

    enc, hist = _encoder(), torch.randn(2, 5, 32, 47)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for patch in (None, 16):
            a = enc.features(hist, size=(32, 47), patch=patch)
            b = enc.features(kinds.network_dtype(hist, sampler), size=(32, 47), patch=patch)
            assert a.dtype == b.dtype and torch.equal(a, b)
