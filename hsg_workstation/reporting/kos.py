"""Key Object Selection document (KOS) flagging the report's key frames in the source study.

Why a KOS besides the SR: PACS viewers that know nothing about HSG still show "key images" from a KOS. highdicom
builds the document but references whole instances only, so the frame numbers of multi-frame loops are added to
each reference afterwards (Referenced Frame Number, 1-based, one item per instance with all its key frames).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from hsg_workstation.reporting import codes


def build_kos(
    source_datasets: Sequence[Dataset],
    key_frames: Iterable[tuple[str, int]],
    *,
    description: str = "HSG key images",
    series_number: int = 903,
    instance_number: int = 1,
    institution_name: str | None = None,
    observer_name: str | None = None,
    series_instance_uid: str | None = None,
) -> Dataset:
    """A KOS referencing ``key_frames`` = (SOP Instance UID, 1-based frame number) of ``source_datasets``.

    Raises ValueError naming the UID when a key frame's instance is not among the sources, or a frame number
    is outside 1..NumberOfFrames.
    """
    by_uid = {str(ds.SOPInstanceUID): ds for ds in source_datasets}
    frames_by_uid: dict[str, list[int]] = {}
    for uid, frame in key_frames:
        ds = by_uid.get(str(uid))
        if ds is None:
            raise ValueError(f"key image {uid}: instance not found among the study's images")
        n_frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
        if not 1 <= int(frame) <= n_frames:
            raise ValueError(f"key image {uid}: frame {frame} outside 1..{n_frames}")
        frames = frames_by_uid.setdefault(str(uid), [])
        if int(frame) not in frames:
            frames.append(int(frame))
    if not frames_by_uid:
        raise ValueError("key object selection: no key images given")

    referenced = [by_uid[uid] for uid in frames_by_uid]
    observer = None
    if observer_name:
        observer = hd.sr.ObserverContext(
            observer_type=hd.sr.CodedConcept("121006", "DCM", "Person"),
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=observer_name),
        )
    content = hd.ko.KeyObjectSelection(
        document_title=codes.KEY_OBJECT_SELECTION_TITLE.code,
        referenced_objects=referenced,
        observer_person_context=observer,
        description=description,
    )
    kos = hd.ko.KeyObjectSelectionDocument(
        evidence=referenced,
        content=content,
        series_instance_uid=series_instance_uid or generate_uid(),
        series_number=series_number,
        sop_instance_uid=generate_uid(),
        instance_number=instance_number,
        manufacturer="HSG workstation",
        institution_name=institution_name or getattr(source_datasets[0], "InstitutionName", None),
    )
    # highdicom copies only the mandatory Patient / Study attributes; a PACS worklist also shows these.
    for keyword in ("PatientAge", "StudyDescription"):
        if keyword in source_datasets[0] and source_datasets[0].get(keyword):
            setattr(kos, keyword, source_datasets[0].get(keyword))
    for item in kos.ContentSequence:
        if item.ValueType != "IMAGE":
            continue
        ref = item.ReferencedSOPSequence[0]
        frames = frames_by_uid.get(str(ref.ReferencedSOPInstanceUID))
        source = by_uid.get(str(ref.ReferencedSOPInstanceUID))
        if frames and source is not None and int(getattr(source, "NumberOfFrames", 1) or 1) > 1:
            ref.ReferencedFrameNumber = frames if len(frames) > 1 else frames[0]
    return kos


def key_frames_from_kos(ds: Dataset) -> list[tuple[str, int]]:
    """(SOP Instance UID, frame number) pairs referenced by a KOS; frame 1 for single-frame references."""
    out: list[tuple[str, int]] = []
    for item in ds.ContentSequence:
        if item.ValueType not in ("IMAGE", "COMPOSITE"):
            continue
        ref = item.ReferencedSOPSequence[0]
        frames = getattr(ref, "ReferencedFrameNumber", None)
        if frames is None:
            out.append((str(ref.ReferencedSOPInstanceUID), 1))
            continue
        values = (
            [frames] if not isinstance(frames, (list, tuple)) and not hasattr(frames, "__iter__") else frames
        )
        out.extend((str(ref.ReferencedSOPInstanceUID), int(f)) for f in values)
    return out
