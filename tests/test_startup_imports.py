"""Light start-up: importing physml and physml.datasets, and building the CLI, load no simulator or heavy library.

What each import loads is checked in a fresh interpreter (``sys.modules``), not timed: the times are
measured by ``benchmarks/startup.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Libraries none of these may import: the numerics, the learning stack, file formats and plotting.
HEAVY = ("numpy", "torch", "numba", "pyfftw", "scipy", "h5py", "xarray", "dask", "matplotlib", "yaml", "tqdm")

PROBE = """
import contextlib, io, json, sys
for line in sys.argv[1:]:
    with contextlib.redirect_stdout(io.StringIO()):
        exec(line)
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(*code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(("physml.simulators", "physml.models"))]


@pytest.mark.parametrize(
    "code",
    [
        ("import physml", "import physml.datasets", "import physml.kernels", "import physml.datasets.families"),
        ("from physml.cli import build_parser", "build_parser()"),
        ("from physml.cli import main", "main(['--help'])"),
        ("from physml.cli import main", "main(['simulate', '--help'])"),
        ("from physml.cli import main", "main(['simulate', 'collapse', '--help'])"),
        ("from physml.datasets import FAMILIES", "sorted(FAMILIES)", "'schrodinger' in FAMILIES"),
    ],
    ids=["import", "parser", "help", "simulate-help", "family-help", "family-names"],
)
def test_start_up_imports_nothing_heavy(code):
    wrapped = tuple(line if "main(" not in line else f"try:\n    {line}\nexcept SystemExit:\n    pass" for line in code)
    assert _heavy(_loaded(*wrapped)) == []


def test_a_name_imports_its_own_module_only():
    loaded = _loaded("import physml.datasets", "physml.datasets.load_config", "physml.datasets.get_family('collapse')")
    assert "physml.datasets.config" in loaded and "physml.datasets.families.collapse" in loaded
    assert "physml.simulators.collapse" in loaded
    for other in ("schrodinger", "near_horizon", "bh_images", "spacetime"):
        assert f"physml.datasets.families.{other}" not in loaded and f"physml.simulators.{other}" not in loaded
    assert not {"torch", "xarray", "h5py", "matplotlib"} & {m.split(".")[0] for m in loaded}


def test_the_lazy_names_are_the_public_ones():
    import physml.datasets
    import physml.datasets.families
    import physml.kernels

    for package in (physml.datasets, physml.datasets.families, physml.kernels):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
        assert set(package.__all__) <= set(dir(package))
        with pytest.raises(AttributeError, match="has no attribute 'nope'"):
            package.nope  # noqa: B018


def test_families_register_by_instance_or_by_path_loaded_on_first_use():
    from failing_family import FailingFamily

    from physml.datasets.families import FAMILIES, get_family, register_family

    try:
        register_family("failing_family:FailingFamily", name="failing-schrodinger")
        assert "failing-schrodinger" in FAMILIES and "failing-schrodinger" in sorted(FAMILIES)
        family = get_family("failing-schrodinger")  # imported and built now, then kept
        assert isinstance(family, FailingFamily) and get_family("failing-schrodinger") is family
        register_family(FailingFamily())
        assert get_family("failing-schrodinger") is not family
        register_family("physml.datasets.families.collapse:CollapseFamily", name="other")
        with pytest.raises(ValueError, match=r"'other' = .* is invalid: the class is named 'collapse'"):
            get_family("other")
    finally:
        for name in ("failing-schrodinger", "other"):
            if name in FAMILIES:  # (not pop: it would look the entry up, loading it)
                del FAMILIES[name]
    with pytest.raises(ValueError, match="needs its name"):
        register_family("failing_family:FailingFamily")
    with pytest.raises(ValueError, match="family = 'nope' is invalid: choose one of bh_images, collapse"):
        get_family("nope")


def test_the_models_load_torch_but_no_simulator_or_numerics_kernel():
    modules = _loaded("import physml.models")
    loaded = set(modules) | {m.split(".")[0] for m in modules}
    assert "torch" in loaded
    assert not {"numba", "pyfftw", "h5py", "xarray"} & loaded
    assert not [m for m in loaded if m.startswith(("physml.simulators", "physml.kernels.fft", "physml.datasets"))]
