"""The study model: Patient / Study / Series / Instance / DisplaySet as frozen dataclasses.

Frozen so that rows read from the index can be handed across threads without copies or locks. Paths are
absolute paths into the local store; frames are addressed as (path, 0-based index) and decoded on demand,
never held here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal


class SopKind(StrEnum):
    """What a SOP class is for on this workstation (drives the display-set handlers)."""

    IMAGE = "image"  # any pixel-bearing storage class (RF, XA, DX, CR, SC, Enhanced XA/XRF, ...)
    STRUCTURED_REPORT = "sr"
    ENCAPSULATED_PDF = "pdf"
    KEY_OBJECT_SELECTION = "ko"
    PRESENTATION_STATE = "pr"
    OTHER = "other"


class DisplaySetKind(StrEnum):
    CINE = "cine"  # one multi-frame image (fill-sequence loop)
    STACK = "stack"  # single-frame images of one series, ordered by acquisition time then instance number
    DOCUMENT = "document"  # SR / Encapsulated PDF / KO: listed, not shown as images


@dataclass(frozen=True, slots=True)
class Instance:
    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    study_instance_uid: str
    path: Path
    kind: SopKind
    instance_number: int | None = None
    number_of_frames: int = 1
    rows: int | None = None
    columns: int | None = None
    acquisition_datetime: str | None = None  # DICOM DT string (sortable), or None
    transfer_syntax_uid: str | None = None


@dataclass(frozen=True, slots=True)
class Series:
    series_instance_uid: str
    study_instance_uid: str
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    instance_count: int = 0


@dataclass(frozen=True, slots=True)
class Study:
    study_instance_uid: str
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    study_date: str = ""
    study_time: str = ""
    accession_number: str = ""
    study_description: str = ""
    modalities: tuple[str, ...] = ()
    series_count: int = 0
    instance_count: int = 0
    complete: bool = True  # False after a partial retrieve


@dataclass(frozen=True, slots=True)
class FrameRef:
    """One displayable frame: a file and a 0-based frame index into it."""

    path: Path
    index: int
    sop_instance_uid: str

    @property
    def frame_number(self) -> int:
        """1-based frame number, as DICOM references frames (Referenced Frame Number)."""
        return self.index + 1


@dataclass(frozen=True, slots=True)
class DisplaySet:
    """What the viewer shows in one viewport: a cine loop, a stack of spot images, or a document."""

    kind: DisplaySetKind
    series_instance_uid: str
    study_instance_uid: str
    label: str
    frames: tuple[FrameRef, ...] = ()
    instances: tuple[Instance, ...] = field(default_factory=tuple)
    modality: str = ""


ImportStatus = Literal["imported", "duplicate", "skipped"]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Outcome for one file offered to the local database (import, DICOMDIR, PACS receive).

    ``skipped`` always carries a ``reason`` naming what is wrong; ``duplicate`` means the SOP Instance UID was
    already in the database (the new copy was not stored).
    """

    path: str
    status: ImportStatus
    reason: str = ""
    sop_instance_uid: str | None = None
    study_instance_uid: str | None = None
    #: True when the failure is local, not the file's fault: a path given that does not exist, or a good file the
    #: workstation could not store (disk full, permissions on the data dir). The CLI exits 1 for these only.
    local_failure: bool = False
