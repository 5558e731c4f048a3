"""Max relative difference of the by-name official models to Unsup3d's forward pass, per output.

Serves archives in the official layout (random weights, both torch file formats) on 127.0.0.1, loads
each with ``load_pretrained("unsup3d-<name>")`` and compares what it computes with
``tests/convert/official.py::official_forward``; prints CSV (results/2026-12-06-official-models-parity.md).
Run from the repository root: it reuses the tests' official networks, archive writer and server.

    OMP_NUM_THREADS=1 python benchmarks/official_models_parity.py > parity.csv
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.getcwd())

from huggingface_hub import constants  # noqa: E402

from physdis_hub import load_pretrained  # noqa: E402
from tests.convert.official import official_forward  # noqa: E402
from tests.convert.test_convert import OFFICIAL, computed, relative_difference  # noqa: E402
from tests.hub.archive_server import ArchiveServer  # noqa: E402
from tests.hub.official_archives import write_archive  # noqa: E402
from tests.hub.test_official import IMAGES  # noqa: E402

RELEASES = (("celeba", True), ("cat", True), ("synface", False), ("syncar", False))
"""Release and whether its archive is written in torch's legacy (pre-1.6) format."""


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    os.environ["HF_HOME"] = constants.HF_HOME = str(tmp / "home")
    header = False
    with ArchiveServer() as server:
        os.environ["PHYSDIS_UNSUP3D_URL"] = server.url
        for release, legacy in RELEASES:
            archive, nets = write_archive(tmp, release, legacy=legacy, full=False, seed=len(release))
            server.files[archive.name] = archive
            reference = official_forward(nets, IMAGES * 2 - 1, OFFICIAL["unsup3d", release])
            ours = computed(load_pretrained(f"unsup3d-{release}"), IMAGES)
            if not header:
                print("release,torch_format," + ",".join(reference))
                header = True
            diffs = (f"{relative_difference(ours[k], reference[k]):.1e}" for k in reference)
            print(release, "legacy" if legacy else "zip", *diffs, sep=",")
            archive.unlink()


if __name__ == "__main__":
    main()
