"""The embedded default: a generated MERRA-2 / G5NR-like pair of dust-AOT series.

Real files cannot be downloaded here, so finescale ships a generator whose output behaves
like the real pair: dust sources sit on real barren, low-lying land (MODIS + pvlib layers in
``assets/static``), emission peaks in spring/summer, fields persist and drift from day to
day, values are log-normal, the fine field carries variance the coarse grid cannot see, and
the coarse product disagrees with the fine one the way two models do.

Equations (``y = log10 AOT``; ``x`` a fine-grid point, ``t`` a day, ``q`` the 0.25° grid)::

    S(x)   = bare(x) · land(x) · exp(-E(x) / H_E)                     local source strength
    D(x)   = G_σD * S / max(G_σD * S)                                 transported source density
    μ(x)   = μ0 + g_src D + g_loc (S - G_σl*S) + g_elev E + g_oro (E - G_σo*E)   climatology
    s(t,x) = (a0 + a1 D(x)) cos(2π (doy - doy_peak) / 365.25) + δ_year(t)        seasonal cycle
    ẑ_t(k) = φ(k) e^{-2πi k·u_t} ẑ_{t-1}(k) + sqrt(1 - φ(k)^2) sqrt(P(k)/ΔxΔy) ŵ_t(k)
             P(k) ∝ (|k|^2 + k0^2)^(-β/2),  φ(k) = exp(-1/τ(k)),  τ(k) = τ0 / (1 + |k|/kτ)
    z = z_L + m_S(x) z_S         z_L: |k| below the 0.25° Nyquist, z_S: above it
    y_fine(t,x)   = μ(x) + s(t,x) + σ(x) z(t,x),        σ(x) = σ0 + σ1 D(x)

The anomaly ``z`` is an advected, scale-dependent AR(1) process in Fourier space (``u_t``
a daily AR(1) wind in °/day, ŵ white noise): large scales persist for days, small ones
decorrelate within one, and the spatial spectrum is a power law of slope -β. The large-scale
part is generated on the 0.25° grid for every coarse day (2000–2024) and spectrally
interpolated to the fine grid on the G5NR days, so both products share the same weather.

The coarse ("MERRA-2") product is a different model of the same atmosphere::

    y_coarse(t) = B[ G_σc * (μ_q' + s + σ z_L) ] + b(t) + ε(t)
    μ_q' = G*μ with the source gain scaled by r_src;  b(t) = b0 + b1 sin(2π (doy - doy_b)/365.25)
    ε: AR(1) in time (ρ_ε), spatially smoothed, std σ_ε

with ``G_σ`` Gaussian smoothing and ``B`` bilinear sampling at the MERRA-2 cell centres. It
is therefore not a block mean of the fine field: it is smoother, seasonally biased and
noisy, yet its value distribution stays close to the fine one (small Wasserstein distance).
AOT = 10^y, stored as float32.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy.ndimage import gaussian_filter
from tqdm.auto import tqdm

from finescale.data.errors import FinescaleError
from finescale.data.layout import RegionData, ensure_writable, write_dataset
from finescale.data.regions import FINE_RES, REGIONS, Region
from finescale.data.regrid import weights_1d
from finescale.data.resources import asset

GENERATOR_NAME = "finescale-synthetic-dust"
GENERATOR_VERSION = "1.0"
VARIABLE = "DUEXTTAU"
VAR_ATTRS = {
    "units": "1",
    "long_name": "Dust Extinction AOT [550 nm]",
    "standard_name": "atmosphere_optical_thickness_due_to_dust_ambient_aerosol_particles",
}
STATIC_FILE = asset("static", "study_area_static.nc")
QUARTER = 4  # fine points per 0.25° step of the large-scale grid
MARGIN = 1.0  # degrees of fine lattice generated beyond the region (coarse cells, smoothing)
FFT_PAD = 64  # extra points so periodic wrap-around stays outside the region
SMOOTH_NOISE_STD = 1 / (2 * np.sqrt(np.pi))  # std of 2-D white noise after a σ=1 px Gaussian


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of the embedded default generator (see the module docstring)."""

    seed: int = 2005  # seeds every random stream
    coarse_start: str = "2000-01-01"
    coarse_end: str = "2024-12-31"
    fine_start: str = "2005-05-15"  # G5NR record: 763 days
    fine_end: str = "2007-06-16"
    # climatology μ(x), log10 units
    mu0: float = -1.95  # clean background
    g_src: float = 1.35  # gain of transported source density D
    g_loc: float = 0.6  # gain of fine-scale source hot spots
    g_elev: float = -0.12  # per km of elevation
    g_oro: float = -0.35  # per km of elevation above the local (≈ 0.5°) mean: valleys dustier
    h_elev: float = 1500.0  # m, e-folding height of source strength
    sigma_d: float = 1.0  # degrees, transport footprint of sources
    sigma_loc: float = 0.25  # degrees, scale separating source hot spots
    sigma_oro: float = 0.5  # degrees, scale separating fine-scale relief
    # seasonal cycle
    a0: float = 0.08
    a1: float = 0.32
    doy_peak: float = 165.0  # mid-June: spring/summer maximum
    sigma_year: float = 0.06  # interannual offset
    # anomaly process
    beta: float = 2.8  # spectral slope
    k0: float = 0.08  # cycles/degree: large-scale roll-off
    tau0: float = 15.0  # days, persistence of the largest scales
    k_tau: float = 3.0  # cycles/degree at which persistence halves
    sigma0: float = 0.20
    sigma1: float = 0.15
    small_gain: float = 1.0  # extra fine-scale variance near sources
    wind_mean: tuple[float, float] = (0.15, 0.0)  # (u, v) degrees/day: mean westerly drift
    wind_std: float = 0.15
    wind_rho: float = 0.7
    # coarse-model disagreement
    r_src: float = 0.88  # coarse model's source gain relative to the fine model's
    sigma_c: float = 0.35  # degrees, extra smoothing of the coarse model
    b0: float = 0.05  # log10 mean bias (offsets the weaker coarse sources on average)
    b1: float = 0.06  # seasonal bias amplitude
    doy_bias: float = 30.0
    eps_std: float = 0.06
    eps_rho: float = 0.5
    # test-sized output
    small: bool = False
    small_size: int = 64  # fine points per side of the small sub-regions
    small_coarse_start: str = "2004-06-01"
    small_coarse_end: str = "2007-08-31"
    regions: tuple[str, ...] = ("area0", "area1")
    small_origin: dict[str, tuple[float, float]] = field(
        default_factory=lambda: {"area0": (29.3125, 61.0), "area1": (22.0, 45.0)}
    )

    def periods(self) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
        cs, ce = (self.small_coarse_start, self.small_coarse_end) if self.small else (
            self.coarse_start, self.coarse_end)
        coarse = pd.date_range(cs, ce, freq="D")
        fine = pd.date_range(self.fine_start, self.fine_end, freq="D")
        if not fine.isin(coarse).all():
            raise FinescaleError("the fine period must lie inside the coarse period")
        return coarse, fine

    def region(self, name: str) -> Region:
        reg = REGIONS[name]
        if not self.small:
            return reg
        lat0, lon0 = self.small_origin[name]
        n = self.small_size
        lat1, lon1 = lat0 + (n - 1) * FINE_RES, lon0 + (n - 1) * FINE_RES
        return replace(reg, fine_lat=(lat0, lat1), fine_lon=(lon0, lon1),
                       bbox=(lat0 - 0.1, lat1 + 0.1, lon0 - 0.1, lon1 + 0.1))


# --- static layers -------------------------------------------------------------------------

def load_static(path: Path = STATIC_FILE) -> xr.Dataset:
    """The shipped study-area static layers (elevation, land mask, bare fraction)."""
    if not path.exists():
        raise FinescaleError(f"static layers missing: {path} "
                             "(run python -m finescale.data.static_build)")
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def climatology_terms(static: xr.Dataset, cfg: GeneratorConfig) -> xr.Dataset:
    """Source density D, local sources S and the climatology μ on the static lattice."""
    px = 1.0 / FINE_RES
    elev = static["elevation"].values.astype(np.float64)
    land = static["land_mask"].values.astype(np.float64)
    S = static["bare_fraction"].values * land * np.exp(-np.maximum(elev, 0) / cfg.h_elev)
    D = gaussian_filter(S, cfg.sigma_d * px, mode="nearest")
    D /= D.max()
    loc = S - gaussian_filter(S, cfg.sigma_loc * px, mode="nearest")
    oro = elev - gaussian_filter(elev, cfg.sigma_oro * px, mode="nearest")
    mu = cfg.mu0 + cfg.g_src * D + cfg.g_loc * loc + cfg.g_elev * elev / 1e3 \
        + cfg.g_oro * oro / 1e3
    mu_coarse_model = mu - (1 - cfg.r_src) * cfg.g_src * D
    dims = ("lat", "lon")
    return xr.Dataset(
        {"D": (dims, D), "S": (dims, S), "mu": (dims, mu), "mu_c": (dims, mu_coarse_model),
         "S_smooth": (dims, gaussian_filter(S, cfg.sigma_loc * px, mode="nearest"))},
        coords=static.coords,
    )


# --- the anomaly process -------------------------------------------------------------------

@dataclass
class _Spectral:
    """Fourier-space description of the anomaly process on one region's FFT domain."""

    ny: int
    nx: int  # fine FFT domain
    phi_q: np.ndarray  # persistence on the quarter grid rfft layout
    amp_q: np.ndarray
    phi_s: np.ndarray  # on the fine layout, small-scale band only
    amp_s: np.ndarray
    kx_q: np.ndarray
    ky_q: np.ndarray
    kx_f: np.ndarray
    ky_f: np.ndarray


def _wavenumbers(ny: int, nx: int, d: float) -> tuple[np.ndarray, np.ndarray]:
    ky = np.fft.fftfreq(ny, d)[:, None]
    kx = np.fft.rfftfreq(nx, d)[None, :]
    return ky, kx


def _spectral(ny: int, nx: int, cfg: GeneratorConfig) -> _Spectral:
    dq = FINE_RES * QUARTER
    nyq, nxq = ny // QUARTER, nx // QUARTER
    ky_q, kx_q = _wavenumbers(nyq, nxq, dq)
    ky_f, kx_f = _wavenumbers(ny, nx, FINE_RES)

    def power(ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        return (kx**2 + ky**2 + cfg.k0**2) ** (-cfg.beta / 2)

    def persistence(ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
        tau = cfg.tau0 / (1 + np.hypot(kx, ky) / cfg.k_tau)
        return np.exp(-1.0 / tau)

    # large scales: the quarter grid without its Nyquist row/column (they have no fine twin)
    band_q = np.ones((nyq, nxq // 2 + 1), dtype=bool)
    band_q[nyq // 2, :] = False
    band_q[:, -1] = False
    phi_q = persistence(ky_q, kx_q)
    amp_q = np.where(band_q, np.sqrt(power(ky_q, kx_q) / dq**2 * (1 - phi_q**2)), 0.0)
    # small scales: everything on the fine grid that the quarter band does not hold
    k_cut = 0.5 / dq
    small = (np.abs(ky_f) >= k_cut * (1 - 1e-9)) | (np.abs(kx_f) >= k_cut * (1 - 1e-9))
    phi_s = persistence(ky_f, kx_f)
    amp_s = np.where(small, np.sqrt(power(ky_f, kx_f) / FINE_RES**2 * (1 - phi_s**2)), 0.0)
    # unit variance of the large-scale stationary process
    var_q = _stationary_var(amp_q, phi_q, nyq * nxq)
    amp_q, amp_s = amp_q / np.sqrt(var_q), amp_s / np.sqrt(var_q)
    return _Spectral(ny, nx, phi_q, amp_q, phi_s, amp_s, kx_q, ky_q, kx_f, ky_f)


def _stationary_var(amp: np.ndarray, phi: np.ndarray, n: int) -> float:
    """Variance of irfft2 of the stationary AR(1) process with these coefficients."""
    p = amp**2 / (1 - phi**2 + 1e-300) * n  # E|ẑ|² for rfft2 of white noise is n
    w = np.full(p.shape, 2.0)
    w[:, 0] = 1.0
    if p.shape[1] > 1:
        w[:, -1] = 1.0  # only when the last column is the Nyquist column; close enough here
    return float((w * p).sum() / n**2)


def _shift(kx: np.ndarray, ky: np.ndarray, u: float, v: float) -> np.ndarray:
    return np.exp(-2j * np.pi * (kx * u + ky * v))


def _to_fine(zq: np.ndarray, ny: int, nx: int) -> np.ndarray:
    """Zero-pad a quarter-grid rfft2 spectrum onto the fine rfft2 layout (same field)."""
    nyq = zq.shape[0]
    out = np.zeros((ny, nx // 2 + 1), dtype=complex)
    h = nyq // 2
    out[:h, : zq.shape[1]] = zq[:h]
    out[ny - (nyq - h - 1):, : zq.shape[1]] = zq[h + 1:]
    return out * QUARTER**2


# --- one region ----------------------------------------------------------------------------

def _fft_size(n: int) -> int:
    m = n + FFT_PAD
    step = 4 * QUARTER
    return int(np.ceil(m / step) * step)


def _wind(n: int, cfg: GeneratorConfig, rng: np.random.Generator) -> np.ndarray:
    w = np.zeros((n, 2))
    innov = rng.normal(0, cfg.wind_std * np.sqrt(1 - cfg.wind_rho**2), (n, 2))
    for t in range(1, n):
        w[t] = cfg.wind_rho * w[t - 1] + innov[t]
    return w + np.asarray(cfg.wind_mean)


def _work_lattice(name: str, reg, static: xr.Dataset) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The work lattice: the fine lattice plus a margin, aligned so that every QUARTER-th
    point is a point of the 0.25° grid; and the slices of the fine lattice in it."""
    flat, flon = reg.fine_grid()
    m = round(MARGIN / FINE_RES)
    m += (-m) % QUARTER
    wlat = flat[0] + FINE_RES * np.arange(-m, flat.size + m + (-(flat.size + 2 * m)) % QUARTER)
    wlon = flon[0] + FINE_RES * np.arange(-m, flon.size + m + (-(flon.size + 2 * m)) % QUARTER)
    if wlat[0] < float(static.lat[0]) - 1e-9 or wlat[-1] > float(static.lat[-1]) + 1e-9 or \
            wlon[0] < float(static.lon[0]) - 1e-9 or wlon[-1] > float(static.lon[-1]) + 1e-9:
        raise FinescaleError(f"region {name} lies outside the shipped static layers")
    return wlat, wlon, (slice(m, m + flat.size), slice(m, m + flon.size))


@dataclass(frozen=True)
class _Maps:
    """The fixed maps of a region's process on the work lattice (fine) and on the 0.25°
    points (quarter)."""

    mu_f: np.ndarray  # fine climatology
    sigma_f: np.ndarray  # fine amplitude of the anomalies
    a_season_f: np.ndarray  # fine seasonal amplitude
    m_small: np.ndarray  # small-scale gain (work lattice)
    mu_q: np.ndarray  # quarter climatology (smoothed)
    sigma_q: np.ndarray
    a_season_q: np.ndarray

    @classmethod
    def of(cls, work: xr.Dataset, cfg: GeneratorConfig, sl_f: tuple) -> _Maps:
        D = work["D"].values
        sigma = cfg.sigma0 + cfg.sigma1 * D
        smooth = work["S_smooth"].values
        q_smooth = QUARTER / 2  # fine → quarter aggregation
        return cls(mu_f=work["mu"].values[sl_f], sigma_f=sigma[sl_f],
                   a_season_f=cfg.a0 + cfg.a1 * D[sl_f],
                   m_small=1 + cfg.small_gain * smooth / max(smooth.max(), 1e-9),
                   mu_q=gaussian_filter(work["mu_c"].values, q_smooth,
                                        mode="nearest")[::QUARTER, ::QUARTER],
                   sigma_q=sigma[::QUARTER, ::QUARTER],
                   a_season_q=cfg.a0 + cfg.a1 * D[::QUARTER, ::QUARTER])


def generate_region(name: str, cfg: GeneratorConfig, static: xr.Dataset | None = None,
                    progress: bool = True) -> RegionData:
    """Generate the coarse and fine series and static fields of one region."""
    reg = cfg.region(name)
    static = load_static() if static is None else static
    terms = climatology_terms(static, cfg)
    coarse_days, fine_days = cfg.periods()
    rng = np.random.default_rng([cfg.seed, list(REGIONS).index(name)])
    flat, flon = reg.fine_grid()
    clat, clon = reg.coarse_grid()
    wlat, wlon, sl_f = _work_lattice(name, reg, static)
    maps = _Maps.of(terms.sel(lat=wlat, lon=wlon, method="nearest"), cfg, sl_f)
    coarse, fine = _simulate(cfg, maps, (wlat, wlon), (clat, clon), sl_f, coarse_days,
                             fine_days, rng, tqdm(range(coarse_days.size),
                                                  desc=f"generate {name}", unit="day",
                                                  disable=not progress, mininterval=0.5))
    st = static.sel(lat=flat, lon=flon, method="nearest").assign_coords(lat=flat, lon=flon)
    return RegionData(
        name=name,
        coarse=_series(coarse, coarse_days, clat, clon, "MERRA-2-like coarse product"),
        fine=_series(fine, fine_days, flat, flon, "G5NR-like fine product"),
        static=st,
        meta={"bbox": list(reg.bbox), "description": reg.description},
    )


def _simulate(cfg: GeneratorConfig, maps: _Maps, work: tuple, coarse_grid: tuple,
              sl_f: tuple, coarse_days: pd.DatetimeIndex, fine_days: pd.DatetimeIndex,
              rng: np.random.Generator, bar) -> tuple[np.ndarray, np.ndarray]:
    """Day by day: the advected large-scale process on the 0.25° points (every coarse day,
    aggregated to the coarse grid with the product's bias and error) and, on the fine days,
    the small-scale process added on the work lattice."""
    wlat, wlon = work
    clat, clon = coarse_grid
    qlat, qlon = wlat[::QUARTER], wlon[::QUARTER]
    ny, nx = _fft_size(wlat.size), _fft_size(wlon.size)
    sp = _spectral(ny, nx, cfg)
    nyq, nxq = ny // QUARTER, nx // QUARTER
    wind = _wind(coarse_days.size, cfg, rng)
    years = np.unique(coarse_days.year)
    year_off = dict(zip(years, rng.normal(0, cfg.sigma_year, years.size), strict=True))
    fine_pos = set(coarse_days.get_indexer(fine_days).tolist())
    wc_lat = weights_1d(qlat, clat, "bilinear")
    wc_lon = weights_1d(qlon, clon, "bilinear")
    coarse = np.empty((coarse_days.size, clat.size, clon.size), dtype=np.float32)
    fine = np.empty((fine_days.size, sl_f[0].stop - sl_f[0].start,
                     sl_f[1].stop - sl_f[1].start), dtype=np.float32)
    eps = np.zeros((clat.size, clon.size))
    zq = np.zeros((nyq, nxq // 2 + 1), dtype=complex)
    zs = np.zeros((ny, nx // 2 + 1), dtype=complex)
    sig_c = cfg.sigma_c / (FINE_RES * QUARTER)
    doy = coarse_days.day_of_year.to_numpy()
    season_cos = np.cos(2 * np.pi * (doy - cfg.doy_peak) / 365.25)
    bias = cfg.b0 + cfg.b1 * np.sin(2 * np.pi * (doy - cfg.doy_bias) / 365.25)
    offsets = np.array([year_off[y] for y in coarse_days.year])
    for _ in range(int(4 * cfg.tau0)):  # start the processes in their stationary state
        zq = sp.phi_q * zq + sp.amp_q * np.fft.rfft2(rng.standard_normal((nyq, nxq)))
    fi = 0
    for t in bar:
        u, v = wind[t]
        zq = sp.phi_q * _shift(sp.kx_q, sp.ky_q, u, v) * zq \
            + sp.amp_q * np.fft.rfft2(rng.standard_normal((nyq, nxq)))
        zl_q = np.fft.irfft2(zq, s=(nyq, nxq))[: qlat.size, : qlon.size]
        yq = maps.mu_q + maps.a_season_q * season_cos[t] + offsets[t] + maps.sigma_q * zl_q
        yq = gaussian_filter(yq, sig_c, mode="nearest")
        eps = cfg.eps_rho * eps + np.sqrt(1 - cfg.eps_rho**2) * cfg.eps_std * gaussian_filter(
            rng.standard_normal(eps.shape), 1.0, mode="nearest") / SMOOTH_NOISE_STD
        coarse[t] = wc_lat @ yq @ wc_lon.T + bias[t] + eps
        if t in fine_pos:
            zs = sp.phi_s * _shift(sp.kx_f, sp.ky_f, u, v) * zs \
                + sp.amp_s * np.fft.rfft2(rng.standard_normal((ny, nx)))
            zl = np.fft.irfft2(_to_fine(zq, ny, nx), s=(ny, nx))[: wlat.size, : wlon.size]
            zsm = np.fft.irfft2(zs, s=(ny, nx))[: wlat.size, : wlon.size]
            z = (zl + maps.m_small * zsm)[sl_f]
            fine[fi] = maps.mu_f + maps.a_season_f * season_cos[t] + offsets[t] \
                + maps.sigma_f * z
            fi += 1
    bar.close()
    return (10.0**coarse).astype(np.float32), (10.0**fine).astype(np.float32)


def _series(values: np.ndarray, days: pd.DatetimeIndex, lat: np.ndarray, lon: np.ndarray,
            source: str) -> xr.DataArray:
    return xr.DataArray(
        values, dims=("time", "lat", "lon"), name=VARIABLE,
        coords={
            "time": ("time", days.values, {"standard_name": "time", "long_name": "time"}),
            "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
        attrs={**VAR_ATTRS, "source": source, "cell_methods": "time: mean (daily)"},
    )


def prepare(out: Path, cfg: GeneratorConfig | None = None, overwrite: bool = False,
            progress: bool = True) -> Path:
    """Generate every region and write the dataset directory atomically."""
    cfg = cfg or GeneratorConfig()
    if not overwrite and is_prepared(out, cfg):
        return Path(out).expanduser().resolve()
    if Path(out).expanduser().exists() and not overwrite:
        raise FinescaleError(f"{out} already exists with other settings; pass --overwrite to "
                             "replace it")
    ensure_writable(out)  # before minutes of generation
    t0 = time.perf_counter()
    static = load_static()
    regions = [generate_region(n, cfg, static, progress) for n in cfg.regions]
    _coarse_days, _fine_days = cfg.periods()
    manifest = {
        "variable": VARIABLE, "transform": "log",
        "transform_reason": "aerosol optical thickness: positive, log-normal",
        "units": VAR_ATTRS["units"],
        "long_name": VAR_ATTRS["long_name"],
        "source": {"coarse": "generated MERRA-2-like (M2T1NXAER DUEXTTAU, daily means)",
                   "fine": "generated G5NR-like (0.0625 deg, daily means)"},
        "generator": {"name": GENERATOR_NAME, "version": GENERATOR_VERSION,
                      "config": _jsonable(asdict(cfg)),
                      "seconds": round(time.perf_counter() - t0, 1)},
        "static_source": "assets/static/study_area_static.nc (pvlib Altitude, MODIS MCD12C1)",
    }
    return write_dataset(out, regions, manifest, overwrite=overwrite)


def is_prepared(out: Path, cfg: GeneratorConfig) -> bool:
    """True when ``out`` already holds this generator version's output for ``cfg``."""
    try:
        gen = json.loads((Path(out).expanduser() / "manifest.json").read_text())["generator"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(gen) and gen.get("version") == GENERATOR_VERSION and \
        gen.get("config") == _jsonable(asdict(cfg))


def _jsonable(d: dict) -> dict:
    return json.loads(json.dumps(d))  # tuples → lists, as they read back from the manifest
