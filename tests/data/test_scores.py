"""Pointwise and ensemble scores against closed forms and brute-force references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr

from finescale.data import scores


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    t = rng.normal(loc=3.0, size=2000)
    return t + rng.normal(scale=0.5, size=t.size), t


def test_deterministic_scores(pair):
    p, t = pair
    assert scores.r2_pearson(p, t) == pytest.approx(pearsonr(p, t)[0] ** 2)
    assert scores.rmse(t + 2, t) == pytest.approx(2) and scores.mae(t - 2, t) == pytest.approx(2)
    assert scores.bias(t - 2, t) == pytest.approx(-2)
    assert scores.r2_score(np.full_like(t, t.mean()), t) == pytest.approx(0)
    assert scores.nse(t, t) == 1.0
    # NaN points are skipped, not propagated
    p2 = p.copy()
    p2[:10] = np.nan
    assert scores.rmse(p2, t) == pytest.approx(scores.rmse(p[10:], t[10:]))


def test_kge_closed_form(pair):
    _, t = pair
    assert scores.kge(t, t) == pytest.approx(1.0)
    # doubling: r = 1, α = 2, β = 2 → KGE = 1 − √2
    assert scores.kge(2 * t, t) == pytest.approx(1 - np.sqrt(2))


def test_crps_point_forecast_equals_mae(pair):
    p, t = pair
    assert scores.crps(p[None], t) == pytest.approx(scores.mae(p, t))


def test_crps_matches_the_energy_form():
    """CRPS = E|X − y| − ½ E|X − X'| over the members (brute force)."""
    rng = np.random.default_rng(1)
    ens, y = rng.normal(size=(7, 50)), rng.normal(size=50)
    brute = (np.abs(ens - y).mean(axis=0)
             - 0.5 * np.abs(ens[:, None] - ens[None]).mean(axis=(0, 1))).mean()
    assert scores.crps(ens, y) == pytest.approx(brute, rel=1e-9)


def test_crps_of_a_large_gaussian_ensemble():
    """For N(0, 1) and y = 0 the CRPS is (√2 − 1)/√π."""
    rng = np.random.default_rng(2)
    ens = rng.normal(size=(4000, 1))
    assert scores.crps(ens, np.zeros(1)) == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi),
                                                          rel=0.03)


def test_spread_skill_and_rank_histogram():
    rng = np.random.default_rng(3)
    n, m = 40_000, 5
    centre = rng.normal(size=n)
    truth = centre + rng.normal(size=n)
    consistent = centre + rng.normal(size=(m, n))
    narrow = centre + 0.3 * rng.normal(size=(m, n))
    assert scores.spread_skill(consistent, truth) == pytest.approx(1.0, abs=0.03)
    assert scores.spread_skill(narrow, truth) < 0.5
    flat = scores.rank_histogram(consistent, truth)
    assert flat.sum() == n and flat.size == m + 1
    assert np.abs(flat / flat.mean() - 1).max() < 0.06
    u = scores.rank_histogram(narrow, truth)
    assert u[0] > 2 * u[m // 2] and u[-1] > 2 * u[m // 2]  # U-shaped when under-dispersive
    assert scores.spread(consistent) == pytest.approx(1.0, abs=0.02)
    assert scores.spread(consistent[:1]) == 0.0 and np.isnan(
        scores.spread_skill(consistent[:1], truth))


def test_infinite_member_estimates_recover_the_known_truth():
    """Members = μ + σε around a mean field μ correlated with the truth: the ensemble mean of
    M members carries σ²/M of noise, which the estimates remove (any M), while the plain
    M-member R² and the standard CRPS drift with M."""
    from finescale.data.scores import crps, crps_fair, ensemble_mean_inf, r2_pearson

    rng = np.random.default_rng(0)
    n, sigma = 200_000, 0.8
    t = rng.normal(0, 1, n)
    mu = 0.9 * t + rng.normal(0, 0.4, n)  # the infinite-member mean
    r2_true = np.corrcoef(mu, t)[0, 1] ** 2
    mse_true = np.mean((mu - t) ** 2) + 0.0
    fair = []
    for m in (2, 4, 16):
        ens = mu + sigma * rng.normal(0, 1, (m, n))
        est = ensemble_mean_inf(ens, t)
        assert est["r2_inf"] == pytest.approx(r2_true, abs=0.005)
        assert est["mse_inf"] == pytest.approx(mse_true, rel=0.02)
        assert r2_pearson(ens.mean(axis=0), t) < r2_true - 0.3 / m  # what N members cost
        fair.append(crps_fair(ens, t))
        if m == 2:
            assert crps(ens, t) > crps_fair(ens, t) * 1.05  # the standard one favours many
    assert np.ptp(fair) < 0.01 * np.mean(fair)  # the fair CRPS does not depend on M
    assert np.isnan(ensemble_mean_inf(mu[None], t)["r2_inf"])  # one member: undefined
    assert np.isnan(crps_fair(mu[None], t))
