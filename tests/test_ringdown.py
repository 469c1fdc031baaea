"""Ringdown analysis against synthetic signals whose modes and tails are known exactly.

Mode values: Schwarzschild l = 2 gravitational modes (Leaver's continued fraction, as tabulated by
Kokkotas & Schmidt 1999, Table 1). Tolerances: round-off for noise-free exact models; for
noisy or contaminated signals the error the method is designed to reach (0.1 %) or its own error bar.
"""

from __future__ import annotations

import numpy as np
import pytest

from physml.simulators.near_horizon.ringdown import fit_damped_sinusoids, qnm_from_ringdown
from physml.simulators.near_horizon.tails import fit_power_law, local_power_index

W0 = 0.3736716844 - 0.0889623157j  # l = 2, n = 0
W1 = 0.3467 - 0.2739j  # n = 1
W2 = 0.3011 - 0.4783j  # n = 2


def ringdown(t: np.ndarray, omegas, amplitudes) -> np.ndarray:
    return np.real(sum(a * np.exp(-1j * w * t) for w, a in zip(omegas, amplitudes)))


@pytest.mark.parametrize("method", ["matrix-pencil", "prony"])
@pytest.mark.parametrize("refine", [False, True])
def test_single_damped_sinusoid_is_recovered_to_round_off(method: str, refine: bool) -> None:
    t = np.arange(10.0, 70.0, 0.1)
    amplitude = 0.8 * np.exp(0.4j)
    y = ringdown(t - 10.0, [W0], [amplitude])
    fit = fit_damped_sinusoids(t, y, n_modes=1, method=method, refine=refine)
    assert fit.refined == refine and fit.oscillating.tolist() == [True]
    assert abs(fit.omegas[0] - W0) < 1e-10
    assert abs(fit.amplitudes[0] - amplitude) < 1e-10  # referenced to t_ref = t[0]
    assert fit.t_ref == 10.0 and fit.residual < 1e-10
    assert np.max(np.abs(fit.model(t) - y)) < 1e-10


@pytest.mark.parametrize("method", ["matrix-pencil", "prony"])
def test_fundamental_and_two_overtones(method: str) -> None:
    t = np.arange(0.0, 80.0, 0.1)
    amplitudes = [1.0, 2.5 * np.exp(0.7j), 3.0 * np.exp(-1.2j)]
    fit = fit_damped_sinusoids(t, ringdown(t, [W0, W1, W2], amplitudes), n_modes=3, method=method)
    # Sorted least damped first; refined Prony and pencil both reach round-off on an exact model.
    assert np.max(np.abs(fit.omegas - [W0, W1, W2])) < 1e-9
    assert np.max(np.abs(fit.amplitudes - amplitudes)) < 1e-8


def test_exponential_component_is_kept_and_flagged() -> None:
    t = np.arange(0.0, 60.0, 0.1)
    y = ringdown(t, [W0], [1.0]) + 0.3 * np.exp(-0.05 * t)
    fit = fit_damped_sinusoids(t, y, n_modes=1, n_exponentials=1)
    assert fit.oscillating.tolist() == [True, False]
    assert abs(fit.omegas[0] - W0) < 1e-10
    assert fit.omegas[1].real == 0.0 and abs(fit.omegas[1].imag + 0.05) < 1e-10
    assert abs(fit.amplitudes[1] - 0.3) < 1e-10


def test_noise_error_bar_covers_the_true_fundamental() -> None:
    # White noise at SNR 1000 against the peak amplitude (sigma = 1e-3 for |psi(0)| ~ 1). The bar
    # (window spread in quadrature with 2 standard errors) should cover ~95 % of realisations.
    t = np.arange(0.0, 100.0, 0.1)
    clean = ringdown(t, [W0, W1], [1.0, 1.5 * np.exp(0.7j)])
    errors, bars, covered = [], [], 0
    for seed in range(20):
        y = clean + 1e-3 * np.random.default_rng(seed).standard_normal(t.size)
        estimate = qnm_from_ringdown(t, y, t_start=0.0, t_end=60.0, n_modes=2)
        error = estimate.omega0 - W0
        covered += abs(error.real) <= estimate.omega0_error.real and abs(error.imag) <= estimate.omega0_error.imag
        errors.append(abs(error))
        bars.append(abs(estimate.omega0_error))
        assert estimate.window_omegas.shape == estimate.starts.shape == (5,)
        assert estimate.overtones.shape == (1,) and abs(estimate.overtones[0] - W1) < 0.02
    assert covered >= 18
    # The bar is informative: not more than ~10x the typical error, itself ~1e-4.
    assert np.median(bars) < 10 * np.median(errors) and np.median(errors) < 5e-4


def test_tail_contaminated_window_still_gives_fundamental_to_0p1_percent() -> None:
    # Ringdown followed by a t^-7 Price tail, dominant from t ~ 120; the window ends at 80, where the tail
    # is ~20 % of the ringdown envelope.
    t = np.arange(0.0, 600.0, 0.1)
    y = ringdown(t, [W0, W1], [1.0, 1.5 * np.exp(0.7j)]) + 1e11 * (t + 50.0) ** -7
    with_tail_terms = qnm_from_ringdown(t, y, t_start=5.0, t_end=80.0, n_modes=2, n_exponentials=2)
    assert abs(with_tail_terms.omega0 - W0) < 1e-3 * abs(W0)
    assert abs(with_tail_terms.omega0_error) < 1e-3 * abs(W0)
    assert not with_tail_terms.fit.oscillating[-2:].any()
    # Without the non-oscillating terms the tail biases the fit beyond 0.1 %: the test above can fail.
    plain = qnm_from_ringdown(t, y, t_start=5.0, t_end=80.0, n_modes=2)
    assert abs(plain.omega0 - W0) > 1e-3 * abs(W0)
    # The tail itself, in the time since the pulse (t0 = -50), is an exact t^-7 once the ringdown has died.
    tail = fit_power_law(t, y, t_min=400.0, t_max=599.0, t0=-50.0)
    assert tail.sign == 1 and abs(tail.exponent + 7) < 1e-6 and tail.spread < 1e-6


def test_local_power_index_converges_like_one_over_t() -> None:
    a = 20.0
    t = np.arange(100.0, 5000.5, 0.5)
    y = -(t**-5.0) * (1 + a / t)
    p = local_power_index(t, y)
    exact = -5 - a / (t + a)  # d ln|y| / d ln t
    assert np.max(np.abs(p - exact)) < 1e-6
    fit = fit_power_law(t, y, t_min=2000.0, t_max=5000.0)
    assert fit.sign == -1
    assert exact[np.searchsorted(t, 2000.0)] < fit.exponent < exact[-1]  # between the end-point local indices
    # The end index is the slope over the window's last tenth in ln t: between the exact indices there.
    tenth = np.exp(np.log(5000.0) - 0.1 * np.log(5000.0 / 2000.0))
    assert exact[np.searchsorted(t, tenth)] < fit.local_index_end < exact[-1]
    assert fit.spread == pytest.approx(abs(fit.local_index_end - fit.exponent)) and fit.spread < 5e-3


def test_bad_input_raises_with_reason() -> None:
    t = np.arange(0.0, 50.0, 0.1)
    y = ringdown(t, [W0], [1.0])
    ragged = t.copy()
    ragged[10] += 1e-4
    with pytest.raises(ValueError, match="t is invalid: step varies"):
        fit_damped_sinusoids(ragged, y, n_modes=1)
    with pytest.raises(ValueError, match=r"n_modes = 3 is invalid for 12 samples"):
        fit_damped_sinusoids(t[:12], y[:12], n_modes=3)
    with pytest.raises(ValueError, match="y is invalid: contains 1 NaN"):
        fit_damped_sinusoids(t, np.where(t == t[5], np.nan, y), n_modes=1)
    with pytest.raises(ValueError, match="equal length"):
        fit_damped_sinusoids(t, y[:-1], n_modes=1)
    with pytest.raises(ValueError, match="method = 'fft' is invalid"):
        fit_damped_sinusoids(t, y, n_modes=1, method="fft")
    with pytest.raises(ValueError, match=r"t_start = 60\.0 is invalid"):
        qnm_from_ringdown(t, y, t_start=60.0, t_end=70.0)
    with pytest.raises(ValueError, match=r"changes sign.*oscillations"):
        fit_power_law(t + 1.0, y, t_min=20.0, t_max=50.0)
