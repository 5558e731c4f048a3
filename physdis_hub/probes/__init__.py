"""Probes: how useful and how disentangled a representation is (paper Sec. 4 and 5).

Every probe takes plain arrays or an *extractor* (an ``nn.Module`` from images ``(B, 3, 64, 64)`` in
[0, 1] to features ``(B, D)``) and returns a result dataclass with ``.to_json()`` and
``.to_markdown()``. :class:`Report` puts a model and its baselines side by side.

- clustering: :func:`cluster_probe`, :func:`attribute_cluster_probe`, :func:`average_by_track`
- linear probe: :func:`linear_probe`, :func:`finetune_probe`, :func:`supervised_resnet18_probe`
- segmentation: :class:`SegmentationUNet`, :func:`segmentation_probe`
- disentanglement: :func:`part_correlation`, :func:`factor_probe` (part-by-factor matrix), :func:`factor_report`
- attribution: :func:`feature_attribution`, :func:`input_attribution`, :func:`gradcam_by_part`
- baselines: :class:`PixelPCA`, :func:`random_init_like`, :class:`ResNet18Extractor`
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # the names below, for type checkers; at run time they are imported on first use
    from .attribute import (
        AttributionResult,
        feature_attribution,
        gradcam_by_part,
        input_attribution,
        save_gradcam_figure,
    )
    from .baselines import PixelPCA, ResNet18Extractor, random_init_like
    from .cluster import (
        AttributeClusterResult,
        ClusterResult,
        attribute_cluster_probe,
        average_by_track,
        cluster_features,
        cluster_probe,
    )
    from .disentangle import CorrelationResult, cross_correlation, part_correlation
    from .extractors import PartsExtractor, down_path_stages, extract_features
    from .factors import FactorResult, factor_probe, factor_report, part_features, split_indices
    from .linear import (
        LinearProbeResult,
        ProbeHead,
        budget_split,
        finetune_probe,
        linear_probe,
        supervised_resnet18_probe,
    )
    from .metrics import (
        cluster_accuracy,
        cluster_f1,
        majority_labels,
        nmi,
        segmentation_scores,
    )
    from .report import ProbeResult, Report, markdown_table
    from .resnet import ResNet18, load_resnet18_weights
    from .segment import (
        SegmentationResult,
        SegmentationUNet,
        evaluate_segmentation,
        segmentation_probe,
        train_segmentation,
    )

# A table, one entry per line: `# fmt: skip` keeps the formatter from splitting its rows.
_EXPORTS = {
    ".attribute": ("AttributionResult", "feature_attribution", "gradcam_by_part", "input_attribution", "save_gradcam_figure"),
    ".baselines": ("PixelPCA", "ResNet18Extractor", "random_init_like"),
    ".cluster": ("AttributeClusterResult", "ClusterResult", "attribute_cluster_probe", "average_by_track", "cluster_features", "cluster_probe"),
    ".disentangle": ("CorrelationResult", "cross_correlation", "part_correlation"),
    ".factors": ("FactorResult", "factor_probe", "factor_report", "part_features", "split_indices"),
    ".extractors": ("PartsExtractor", "down_path_stages", "extract_features"),
    ".linear": ("LinearProbeResult", "ProbeHead", "budget_split", "finetune_probe", "linear_probe", "supervised_resnet18_probe"),
    ".metrics": ("cluster_accuracy", "cluster_f1", "majority_labels", "nmi", "segmentation_scores"),
    ".report": ("ProbeResult", "Report", "markdown_table"),
    ".resnet": ("ResNet18", "load_resnet18_weights"),
    ".segment": ("SegmentationResult", "SegmentationUNet", "evaluate_segmentation", "segmentation_probe", "train_segmentation"),
}  # fmt: skip
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "AttributeClusterResult",
    "AttributionResult",
    "ClusterResult",
    "CorrelationResult",
    "FactorResult",
    "LinearProbeResult",
    "PartsExtractor",
    "PixelPCA",
    "ProbeHead",
    "ProbeResult",
    "Report",
    "ResNet18",
    "ResNet18Extractor",
    "SegmentationResult",
    "SegmentationUNet",
    "attribute_cluster_probe",
    "average_by_track",
    "budget_split",
    "cluster_accuracy",
    "cluster_f1",
    "cluster_features",
    "cluster_probe",
    "cross_correlation",
    "down_path_stages",
    "evaluate_segmentation",
    "extract_features",
    "factor_probe",
    "factor_report",
    "feature_attribution",
    "finetune_probe",
    "gradcam_by_part",
    "input_attribution",
    "linear_probe",
    "load_resnet18_weights",
    "majority_labels",
    "markdown_table",
    "nmi",
    "part_correlation",
    "part_features",
    "random_init_like",
    "save_gradcam_figure",
    "segmentation_probe",
    "segmentation_scores",
    "split_indices",
    "supervised_resnet18_probe",
    "train_segmentation",
]
