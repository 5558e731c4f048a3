"""One-off analysis of trained models: the experiments behind ``results/``, not part of training.

Each module is a ``python -m training.analysis.<name>`` tool that reads finished runs or shipped
checkpoints: shape and scene accuracy against synthetic ground truth (:mod:`.shape_eval`,
:mod:`.shape_table`), the bas-relief scan (:mod:`.relief_scan`), part swaps (:mod:`.part_swap`), the
real-photo check (:mod:`.real_photos`), figures (:mod:`.alignment_figure`, :mod:`.attribution`) and
the evaluation suite of the shipped checkpoints (:mod:`.suite`). They import the training core;
the core never imports them (``tests/training/test_package_shape.py``).
"""
