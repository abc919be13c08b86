"""Encapsulated PDF: valid IOD (dciodvfy), same study as the source, the PDF comes back byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread

from hsg_workstation.reporting.encapsulated import (
    ENCAPSULATED_PDF_STORAGE,
    build_encapsulated_pdf,
    pdf_from_encapsulated,
)

from .conftest import dciodvfy_errors

# Odd length on purpose: the element must be padded and the length attribute must keep the real size.
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.timeout(60)
def test_encapsulated_pdf_is_valid_and_in_source_study(tmp_path: Path, source_datasets) -> None:
    assert len(TINY_PDF) % 2 == 1
    ds = build_encapsulated_pdf(TINY_PDF, source_datasets, institution_name="Synthetic Hospital")
    out = tmp_path / "pdf.dcm"
    ds.save_as(out, enforce_file_format=True)
    assert dciodvfy_errors(out) == []
    back = dcmread(out)
    assert back.SOPClassUID == ENCAPSULATED_PDF_STORAGE
    assert back.StudyInstanceUID == source_datasets[0].StudyInstanceUID
    assert back.PatientID == source_datasets[0].PatientID
    assert back.Modality == "DOC"
    assert back.ConceptNameCodeSequence[0].CodeValue == "18748-4"
    assert back.EncapsulatedDocumentLength == len(TINY_PDF)
    assert len(back.EncapsulatedDocument) % 2 == 0
    assert pdf_from_encapsulated(back) == TINY_PDF
    assert {i.ReferencedSOPInstanceUID for i in back.SourceInstanceSequence} == {
        s.SOPInstanceUID for s in source_datasets
    }


def test_encapsulated_pdf_rejects_non_pdf(source_datasets) -> None:
    with pytest.raises(ValueError, match="%PDF"):
        build_encapsulated_pdf(b"hello", source_datasets)
    with pytest.raises(ValueError, match="source image"):
        build_encapsulated_pdf(TINY_PDF, [])
