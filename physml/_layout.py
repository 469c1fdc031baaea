"""Map ``physml.simulators`` etc. onto the top-level folders of a source checkout.

``setup.cfg`` maps the repository's ``simulators/``, ``datasets/``,
``models/`` and ``kernels/`` folders into the ``physml`` namespace with
``package_dir``. Installed packages (editable or regular) carry that mapping.
Python started in the repository root, however, finds ``./physml/`` first,
and that folder alone holds none of the subpackages: a regular install is
shadowed and a plain checkout has no mapping at all. This finder supplies the
mapping in exactly that case, so ``import physml.simulators`` works from any
folder with any kind of install (``tests/test_install.py`` checks each).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

#: Subpackage name -> folder at the repository root.
SUBPACKAGES = ("simulators", "datasets", "models", "kernels")


class _SourceTreeFinder(importlib.abc.MetaPathFinder):
    def __init__(self, root: Path) -> None:
        self.root = root

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.partition(".")
        if package != "physml" or name not in SUBPACKAGES:
            return None  # deeper modules resolve through the parent's __path__
        folder = self.root / name
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )


def install_source_tree_finder(package_dir: Path) -> None:
    """Add the finder when ``package_dir`` is ``physml/`` inside a source checkout."""
    root = package_dir.parent
    if not (root / "setup.cfg").is_file() or (package_dir / "simulators").exists():
        return
    if not all((root / name / "__init__.py").is_file() for name in SUBPACKAGES):
        return
    if not any(isinstance(f, _SourceTreeFinder) for f in sys.meta_path):
        sys.meta_path.append(_SourceTreeFinder(root))
