import numpy as np
import pytest

from physml.kernels import FFTPlan, available_backends, exp_multiply_inplace, multiply_inplace, nonfinite_count


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("shape", [(64,), (16, 32)])
def test_fft_plan_matches_numpy_and_is_unnormalised(backend, shape):
    rng = np.random.default_rng(0)
    data = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    plan = FFTPlan(shape, backend=backend, measure=False)
    plan.buffer[...] = data
    plan.forward()
    np.testing.assert_allclose(plan.buffer, np.fft.fftn(data), atol=1e-12)
    plan.backward()
    np.testing.assert_allclose(plan.buffer, data * data.size, atol=1e-10)


def test_fft_plan_rejects_unknown_backend():
    with pytest.raises(ValueError, match="backend must be one of"):
        FFTPlan((8,), backend="cufft")  # type: ignore[arg-type]


def test_pointwise_kernels():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(100) + 1j * rng.standard_normal(100)
    b = rng.standard_normal(100) + 1j * rng.standard_normal(100)
    v = rng.standard_normal(100)
    expected = a * b
    multiply_inplace(a, b)
    np.testing.assert_allclose(a, expected, rtol=1e-15)
    expected = a * np.exp(-0.3j * v)
    exp_multiply_inplace(a, v.astype(np.complex128), -0.3j)
    np.testing.assert_allclose(a, expected, rtol=1e-14)
    assert nonfinite_count(a) == 0
    a[[3, 7]] = [np.nan, np.inf]
    assert nonfinite_count(a) == 2


def test_estimate_plans_are_reproducible_whatever_wisdom_the_process_holds():
    # FFTW_ESTIMATE would reuse wisdom from an earlier FFTW_MEASURE plan of the same shape and change the
    # last bits; dataset builds rely on identical bits in every process.
    pyfftw = pytest.importorskip("pyfftw")
    x = np.random.default_rng(0).standard_normal((96, 96)) + 0.5j

    def estimate() -> np.ndarray:
        plan = FFTPlan((96, 96), threads=1, backend="fftw", measure=False)
        plan.buffer[...] = x
        plan.forward()
        return plan.buffer.copy()

    pyfftw.forget_wisdom()
    fresh = estimate()
    FFTPlan((96, 96), threads=1, backend="fftw", measure=True)  # leaves MEASURE wisdom for this shape
    assert pyfftw.export_wisdom() != (b"", b"", b"")
    assert np.array_equal(estimate(), fresh)
