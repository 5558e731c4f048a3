"""Time of one slider move of ``physdis app`` against a full decompose, on one CPU thread at 64 x 64.

Measured side by side in one run, for the embedded default (``faces-loocc-lv``) and for an untrained
model at the paper's widths (the size of a converted Unsup3d model; its timings do not depend on
the weights):
  * slider: :func:`physdis_hub.app.rerender_face`, what a slider move runs (re-render one face from
    the cached decomposition with a new light and view, then upscale it for the page); target <= 100 ms;
  * decompose: :meth:`PhysDisModel.decompose` of one 64 x 64 crop (the four networks and the renderer);
  * upload: :func:`physdis_hub.app.decompose_files` of one sample file (decode, crop, decompose, the
    GLB mesh, the features file), what the Decompose button runs (embedded default only).
Each is the median of ``--repeats`` runs after one warm-up.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_app_rerender.py [--repeats 20]
"""

from __future__ import annotations

import argparse

import torch

from physdis_hub import PhysDisModel
from physdis_hub.animate import SceneEdit
from physdis_hub.app import Session, decompose_files, load_model, rerender_face
from physdis_hub.cli import DEFAULT_MODEL, SAMPLES

from bench_renderer import timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    sample = sorted(SAMPLES.glob("*.png"))[0]
    session = decompose_files([sample], DEFAULT_MODEL)
    edits = [SceneEdit(light_yaw=y, light_pitch=10.0, light_strength=1.2, view_yaw=y / 2) for y in (-40.0, 40.0)]
    paper = PhysDisModel().eval()
    rows = []
    for name, model in (("faces-loocc-lv (embedded)", load_model(DEFAULT_MODEL)), ("paper widths (untrained)", paper)):
        crop = session.crops.to(next(model.parameters()).device)
        own = Session(
            model,
            name,
            session.labels,
            session.crops,
            model.decompose(crop, align=False),
            session.folder,
            session.meshes,
            session.features,
        )
        moves = iter(edits * (args.repeats + 1))
        slider = timed(lambda: rerender_face(own, 0, next(moves)), args.repeats)  # noqa: B023
        decompose = timed(lambda: model.decompose(crop, align=False, progress=False), args.repeats)  # noqa: B023
        rows.append((name, slider, decompose))
    upload = timed(lambda: decompose_files([sample], DEFAULT_MODEL).close(), max(3, args.repeats // 4))
    session.close()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, 64 x 64, median of {args.repeats}")
    print(f"{'model':28s} {'slider ms':>10s} {'decompose ms':>13s} {'decompose / slider':>19s}")
    for name, slider, decompose in rows:
        print(f"{name:28s} {slider * 1e3:10.1f} {decompose * 1e3:13.1f} {decompose / slider:19.1f}")
    print(f"upload of one file (embedded default): {upload * 1e3:.1f} ms = {upload / rows[0][1]:.1f} slider moves")


if __name__ == "__main__":
    main()
