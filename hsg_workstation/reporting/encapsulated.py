"""PDF bytes → Encapsulated PDF DICOM instance (1.2.840.10008.5.1.4.1.1.104.1) in the source study.

highdicom has no class for this IOD, so pydicom builds it with the attribute list that dciodvfy accepted on
this machine (stack-notes): Patient and General Study copied from the source image so the PDF lands in the
same study on the PACS; Modality ``DOC``; ``ConversionType`` ``WSD``; the document padded to even length with
the unpadded length recorded.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from hsg_workstation import __version__

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"

_PATIENT_STUDY_KEYWORDS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "StudyDescription",
)


def build_encapsulated_pdf(
    pdf_bytes: bytes,
    source_datasets: Sequence[Dataset],
    *,
    document_title: str = "Hysterosalpingography report",
    series_number: int = 902,
    instance_number: int = 1,
    institution_name: str | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    now: _dt.datetime | None = None,
    verified: bool = False,
    predecessors: Sequence[Dataset] | None = None,
) -> Dataset:
    """Wrap ``pdf_bytes`` in an Encapsulated PDF dataset that belongs to the study of ``source_datasets``.

    ``source_datasets`` are the images the PDF was made from (headers are enough); they are listed in
    Source Instance Sequence. The lifecycle is in the header, as far as this IOD has attributes for it:
    ``document_title`` (the caller puts draft / signed / amended in it), Verification Flag (VERIFIED for a signed
    report), Content Date/Time (``now``: the signing time of a signed report) and Predecessor Documents Sequence
    (``predecessors``: items with StudyInstanceUID / ReferencedSeriesSequence, for an amendment). Completion Flag
    and Verifying Observer are not part of the Encapsulated PDF IOD (dciodvfy flags them), so they are left to
    the SR. Raises ValueError if the bytes are not a PDF or no source is given.
    """
    if not pdf_bytes.startswith(b"%PDF-"):
        raise ValueError("encapsulated PDF: the document bytes do not start with %PDF-")
    if not source_datasets:
        raise ValueError("encapsulated PDF: at least one source image dataset is needed (patient/study)")
    src = source_datasets[0]
    now = now or _dt.datetime.now()

    ds = Dataset()
    for keyword in _PATIENT_STUDY_KEYWORDS:
        if keyword in src:
            setattr(ds, keyword, src.data_element(keyword).value)
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime"):
        if keyword not in ds:
            setattr(ds, keyword, "")
    for keyword in ("ReferringPhysicianName", "StudyID", "AccessionNumber"):
        if keyword not in ds:
            setattr(ds, keyword, "")

    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = sop_instance_uid or generate_uid()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = series_instance_uid or generate_uid()
    ds.SeriesNumber = series_number
    ds.SeriesDescription = "HSG report (PDF)"
    ds.InstanceNumber = instance_number
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.InstanceCreationDate = ds.ContentDate
    ds.InstanceCreationTime = ds.ContentTime
    ds.Manufacturer = "HSG workstation"
    ds.SoftwareVersions = __version__
    if institution_name or "InstitutionName" in src:
        ds.InstitutionName = institution_name or src.InstitutionName
    ds.VerificationFlag = "VERIFIED" if verified else "UNVERIFIED"
    if predecessors:
        ds.PredecessorDocumentsSequence = DicomSequence(list(predecessors))
    ds.ConversionType = "WSD"
    ds.BurnedInAnnotation = "YES"
    ds.DocumentTitle = document_title
    title = Dataset()  # (18748-4, LN) CID 7000 document title, so archives can classify the PDF as the report
    title.CodeValue = "18748-4"
    title.CodingSchemeDesignator = "LN"
    title.CodeMeaning = "Diagnostic Imaging Report"
    ds.ConceptNameCodeSequence = DicomSequence([title])
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"

    sources = []
    seen: set[str] = set()
    for s in source_datasets:
        uid = str(s.SOPInstanceUID)
        if uid in seen:
            continue
        seen.add(uid)
        item = Dataset()
        item.ReferencedSOPClassUID = s.SOPClassUID
        item.ReferencedSOPInstanceUID = uid
        sources.append(item)
    ds.SourceInstanceSequence = DicomSequence(sources)

    ds.EncapsulatedDocumentLength = len(pdf_bytes)
    ds.EncapsulatedDocument = pdf_bytes + (b"\x00" if len(pdf_bytes) % 2 else b"")

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def pdf_from_encapsulated(ds: Dataset) -> bytes:
    """The original PDF bytes (padding removed) from an Encapsulated PDF dataset."""
    data = bytes(ds.EncapsulatedDocument)
    length = int(getattr(ds, "EncapsulatedDocumentLength", len(data)) or len(data))
    return data[:length]
