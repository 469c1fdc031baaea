import numpy as np
import pytest

from physml.simulators import Grid


def test_coordinates_and_wavenumbers_are_consistent():
    g = Grid(n=(16, 8), length=(4.0, 2.0))
    assert g.shape == (16, 8) and g.ndim == 2 and g.size == 128
    assert g.dx == (0.25, 0.25) and g.cell_volume == 0.0625
    assert g.axes[0][0] == -2.0 and g.axes[0][-1] == 2.0 - 0.25
    # Spectral derivative of a resolved periodic function is exact to round-off.
    f = np.sin(2 * np.pi * g.coords[0] / 4.0) * np.ones(g.shape)
    df = np.fft.ifftn(1j * g.wavenumbers[0] * np.fft.fftn(f)).real
    np.testing.assert_allclose(
        df, 2 * np.pi / 4.0 * np.cos(2 * np.pi * g.coords[0] / 4.0) * np.ones(g.shape), atol=1e-12
    )
    assert g.k_squared.shape == g.shape
    assert g.integrate(np.ones(g.shape)) == pytest.approx(8.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 7, "length": 1.0}, r"n\[0\] = 7 .* >= 8"),
        ({"n": (16, 4), "length": 1.0}, r"n\[1\] = 4"),
        ({"n": 16, "length": 0.0}, r"length\[0\] = 0.0 .* > 0"),
        ({"n": 16, "length": float("nan")}, r"length\[0\]"),
        ({"n": (8, 8, 8), "length": 1.0}, "1 or 2 axes"),
        ({"n": (8, 8), "length": (1.0,)}, "length must give 2"),
    ],
)
def test_invalid_grids_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Grid(**kwargs)


def test_grid_is_frozen_and_hashable():
    g = Grid(n=32, length=1.0)
    assert g == Grid(n=(32,), length=(1.0,)) and hash(g) == hash(Grid(n=32, length=1.0))
    with pytest.raises(AttributeError):
        g.n = (64,)  # type: ignore[misc]
