"""Docstring examples run, public names are documented, escnn is optional with a clear error."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import sys

import pytest

import physml

PACKAGES = ("physml", "physml.simulators", "physml.kernels", "physml.datasets", "physml.models")
MODULES = [
    "physml",
    *sorted(
        info.name
        for package in PACKAGES
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, prefix=f"{package}.")
        if not info.name.endswith("__main__")
    ),
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize(
    "package", ["physml.simulators", "physml.simulators.schrodinger", "physml.kernels", "physml.datasets"]
)
def test_public_names_have_docstrings(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        obj = getattr(module, name)
        if callable(obj):
            assert obj.__doc__, f"{package}.{name} has no docstring"


def test_escnn_imports_lazily_and_works():
    from physml.optional import require_escnn

    escnn = require_escnn()
    assert escnn.group._numerical.randomized_svd is None
    assert escnn.gspaces.rot2dOnR2(4).fibergroup.order() == 4


def test_missing_escnn_says_how_to_install(monkeypatch):
    from physml.optional import require_escnn

    monkeypatch.setitem(sys.modules, "escnn", None)  # makes `import escnn` raise ImportError
    with pytest.raises(ImportError, match=r"pip install --no-deps escnn==1.0.11 .* lie-learn"):
        require_escnn()


def test_importing_physml_does_not_import_heavy_optional_stacks():
    import subprocess

    code = "import sys, physml.simulators.schrodinger, physml.cli; print(sorted({'escnn', 'torch'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert physml.__version__
