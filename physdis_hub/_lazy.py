"""Lazy re-exports for the package ``__init__`` modules, so that importing a package (and
``physdis --help``) does not import torch, scikit-learn and the rest until a name is used."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for ``package`` that import ``name`` from the submodule
    ``module`` (relative, e.g. ``".model"``) of ``exports = {module: names}`` on first access and
    keep it as a module attribute. The package also imports those names under ``TYPE_CHECKING``,
    for type checkers; ``tests/packaging/test_startup.py`` checks both lists agree."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(where[name], package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
