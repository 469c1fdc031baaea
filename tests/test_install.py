"""Every supported way of installing and importing physml (README, "What is here").

Supported: editable install (``make venv``), regular install from a wheel,
each imported from the repository root and from any other folder. Nothing may
install a top-level ``simulators``, ``datasets``, ``models`` or ``kernels``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import physml

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"simulators": "simulators", "datasets": "datasets", "models": "models", "kernels": "kernels"}
PROBE = (
    "import json, physml, physml.simulators, physml.datasets, physml.models, physml.kernels, physml.cli\n"
    "from physml.simulators.schrodinger import simulate\n"
    "print(json.dumps({m: __import__('physml.' + m, fromlist=['_']).__file__ for m in "
    "('simulators', 'datasets', 'models', 'kernels')} | {'physml': physml.__file__}))\n"
)


def _probe(cwd: Path, pythonpath: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    import json

    return json.loads(result.stdout)


def _top_level_importable(name: str, cwd: Path, pythonpath: str | None = None) -> bool:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({name!r}) else 1)"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env).returncode == 0


@pytest.mark.parametrize("where", ["repository root", "elsewhere"])
def test_editable_install_imports_from_anywhere(tmp_path, where):
    cwd = ROOT if where == "repository root" else tmp_path
    files = _probe(cwd)
    for name, folder in MAPPED.items():
        assert Path(files[name]) == ROOT / folder / "__init__.py"
    if where == "elsewhere":
        for name in MAPPED:
            assert not _top_level_importable(name, tmp_path), f"a top-level {name!r} package is installed"


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory) -> Path:
    """A regular (non-editable) install of a freshly built wheel in its own folder."""
    build = tmp_path_factory.mktemp("wheel")
    # Build from a copy of the tracked files: an in-tree build leaves build/ behind,
    # whose stale modules a later wheel would pick up.
    source = build / "source"
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(build), str(source)], check=True, cwd=build
    )
    (wheel,) = build.glob("physml-*.whl")
    site = build / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, cwd=build)
    return site


def test_wheel_holds_every_module_under_physml_only(wheel_site):
    (wheel,) = wheel_site.parent.glob("physml-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {n.split("/")[0] for n in names} == {"physml", f"physml-{physml.__version__}.dist-info"}
    sources = {f"physml/{p.relative_to(ROOT / 'physml')}" for p in (ROOT / "physml").rglob("*.py")}
    for folder in MAPPED.values():
        sources |= {f"physml/{folder}/{p.relative_to(ROOT / folder)}" for p in (ROOT / folder).rglob("*.py")}
    assert sources <= names, f"modules missing from the wheel: {sorted(sources - names)}"
    configs = {f"physml/datasets/configs/{p.name}" for p in (ROOT / "datasets" / "configs").glob("*.yaml")}
    assert configs and configs <= names, f"dataset configs missing from the wheel: {sorted(configs - names)}"


def test_regular_install_imports_from_elsewhere(wheel_site, tmp_path):
    files = _probe(tmp_path, pythonpath=str(wheel_site))
    for name in MAPPED:
        assert Path(files[name]).is_relative_to(wheel_site / "physml" / name)
    for name in MAPPED:
        assert not _top_level_importable(name, tmp_path, pythonpath=str(wheel_site))


def test_regular_install_imports_from_the_repository_root(wheel_site):
    # ./physml shadows the installed package here; physml maps the source tree
    # itself (physml/_layout.py), so the import still works, from the checkout.
    files = _probe(ROOT, pythonpath=str(wheel_site))
    assert Path(files["physml"]) == ROOT / "physml" / "__init__.py"
    for name, folder in MAPPED.items():
        assert Path(files[name]) == ROOT / folder / "__init__.py"
