"""Fill-sequence analysis: pure numpy / scikit-image functions, no Qt.

Entry points: :func:`analyze_frames` (an :class:`AnalysisRequest` in, :class:`FillAnalysis` out) and :func:`analyze_path` (a DICOM
loop file or a study/series folder). Results are suggestions for the radiologist to accept or reject.
"""

from hsg_workstation.analysis.pipeline import analyze_frames, patient_left_on_image
from hsg_workstation.analysis.request import AnalysisRequest
from hsg_workstation.analysis.result import DefectCandidate, FillAnalysis, KeyFrame, ShapeMetrics, SideResult
from hsg_workstation.analysis.source import AnalysisInputError, analyze_dataset, analyze_path, open_loop

__all__ = [
    "AnalysisInputError",
    "AnalysisRequest",
    "DefectCandidate",
    "FillAnalysis",
    "KeyFrame",
    "ShapeMetrics",
    "SideResult",
    "analyze_dataset",
    "analyze_frames",
    "analyze_path",
    "open_loop",
    "patient_left_on_image",
]
