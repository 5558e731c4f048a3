"""Guard for maintainer tools that write files into the package (embedded checkpoints, converted
weights): they belong in a source checkout, never in an installed copy of the package."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
INSTALL_DIRS = ("site-packages", "dist-packages")


class InstalledPackageError(ValueError):
    """A maintainer tool was asked to write into an installed copy of physdis_hub."""


def require_source_checkout(target: Path, package_dir: Path = PACKAGE_DIR) -> None:
    """Raise :class:`InstalledPackageError` if writing ``target`` would change an installed package:
    ``target`` lies under ``site-packages``/``dist-packages``, or inside ``package_dir`` while
    ``package_dir`` is not in a git checkout. Paths outside the package (``--into``/``-o`` elsewhere)
    are always fine.

    >>> require_source_checkout(Path("/usr/lib/python3/dist-packages/physdis_hub/hub/weights/x"))
    Traceback (most recent call last):
    ...
    physdis_hub._checkout.InstalledPackageError: /usr/lib/python3/dist-packages/physdis_hub/hub/weights/x is inside an installed package (dist-packages); run this from a clone of the repository (git clone, pip install -e .), or write elsewhere
    """
    target, package_dir = target.resolve(), package_dir.resolve()
    installed = [part for part in target.parts if part in INSTALL_DIRS]
    if not installed and target.is_relative_to(package_dir):
        if not any((folder / ".git").exists() for folder in package_dir.parents):
            installed = [f"{package_dir} is not in a git checkout"]
    if installed:
        raise InstalledPackageError(
            f"{target} is inside an installed package ({installed[0]}); run this from a clone of the "
            "repository (git clone, pip install -e .), or write elsewhere"
        )
