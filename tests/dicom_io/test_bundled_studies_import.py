"""The committed synthetic HSG studies (sample_data/) go through import, display sets, timing and export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hsg_workstation.__main__ import main
from hsg_workstation.dicom_io import calibration, reader
from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.model import DisplaySetKind
from hsg_workstation.dicom_io.timing import frame_timing
from hsg_workstation.measurements import CalibrationBasis

from .dicomfactory import tree_hashes

SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.mark.timeout(120)
def test_bundled_studies_import_as_cine_and_stacks(db: LocalDatabase, tmp_path: Path) -> None:
    dicom_files = sorted(SAMPLE_DATA.rglob("*.dcm"))
    assert dicom_files, "sample_data/ holds the bundled studies"
    before = tree_hashes(SAMPLE_DATA)
    results = db.import_paths([SAMPLE_DATA])
    assert tree_hashes(SAMPLE_DATA) == before
    by_path = {Path(r.path): r for r in results}
    assert all(by_path[f].status == "imported" for f in dicom_files)
    studies = db.studies()
    assert len(studies) == len({p.parent for p in dicom_files})
    for st in studies:
        sets = db.display_sets(st.study_instance_uid)
        cines = [s for s in sets if s.kind is DisplaySetKind.CINE]
        assert len(cines) == 1 and len(cines[0].frames) >= 40
        assert any(s.kind is DisplaySetKind.STACK for s in sets)
        loop = cines[0].instances[0]
        header = reader.read_header(loop.path)
        timing = frame_timing(header)
        assert not timing.source.startswith("default") and timing.frame_count == len(cines[0].frames)
        assert calibration.calibration_from_dataset(header).basis is CalibrationBasis.MAGNIFICATION_CORRECTED
        out = tmp_path / f"{st.study_instance_uid}.png"
        assert main(["export-image", str(loop.path), "--frame", str(len(cines[0].frames)), str(out)]) == 0
        assert np.asarray(Image.open(out)).std() > 1
