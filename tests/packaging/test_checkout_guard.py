"""Maintainer tools refuse to write into an installed physdis_hub (site-packages, or a package
folder outside any git checkout), and write anywhere else."""

from pathlib import Path

import pytest

from physdis_hub._checkout import PACKAGE_DIR, InstalledPackageError, require_source_checkout
from physdis_hub.align.convert import main as convert_main
from training.release.embed import main as embed_main


@pytest.mark.parametrize("install_dir", ["site-packages", "dist-packages"])
def test_targets_under_an_install_folder_are_refused(tmp_path, install_dir) -> None:
    target = tmp_path / "lib" / install_dir / "physdis_hub" / "hub" / "weights" / "new"
    with pytest.raises(InstalledPackageError, match=f"installed package.*{install_dir}.*clone"):
        require_source_checkout(target)


def test_package_folder_outside_a_git_checkout_is_refused(tmp_path) -> None:
    package = tmp_path / "unpacked" / "physdis_hub"
    package.mkdir(parents=True)
    with pytest.raises(InstalledPackageError, match="not in a git checkout"):
        require_source_checkout(package / "hub" / "weights" / "new", package_dir=package)
    (tmp_path / "unpacked" / ".git").write_text("gitdir: elsewhere\n")  # a worktree's .git is a file
    require_source_checkout(package / "hub" / "weights" / "new", package_dir=package)


def test_this_clone_and_folders_elsewhere_are_fine(tmp_path) -> None:
    require_source_checkout(PACKAGE_DIR / "hub" / "weights" / "new")
    require_source_checkout(tmp_path / "weights" / "new", package_dir=tmp_path / "physdis_hub")


def test_the_tools_stop_before_writing(tmp_path, capsys) -> None:
    site = tmp_path / "site-packages" / "physdis_hub"
    with pytest.raises(SystemExit) as stop:
        embed_main(["model", "--name", "x", "--suite", "suite.json", "--row", "ours", "--into", str(site)])
    assert stop.value.code == 2 and "installed package" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        convert_main(["facenet.whl", "-o", str(site / "align" / "mtcnn.safetensors")])
    assert stop.value.code == 2 and "installed package" in capsys.readouterr().err
    assert not site.exists() and not Path("suite.json").exists()
