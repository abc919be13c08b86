"""Report state of each study for the reading worklist: none / draft / signed / amended, who and when.

Two sources, read-only: the drafts on disk (``DraftStore``; work in progress on this workstation) and the SR
instances stored with the study in the local database (what was signed and exported, here or elsewhere). A signed
or amended SR outranks a draft: a study with a signed report is reported, whatever drafts lie around. Only the
headers of SR instances are read (Verification Flag, Verifying Observer, Predecessor Documents Sequence), so the
list stays fast with many studies.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import pydicom
from pydicom.errors import InvalidDicomError

from hsg_workstation.dicom_io.database import LocalDatabase
from hsg_workstation.dicom_io.model import SopKind
from hsg_workstation.reporting import codes
from hsg_workstation.reporting.drafts import DraftStore

ReportStateName = Literal["none", "draft", "signed", "amended"]
_RANK = {"none": 0, "draft": 1, "signed": 2, "amended": 3}
_REPORT_TITLE = (codes.HSG_REPORT_TITLE.value, codes.HSG_REPORT_TITLE.scheme)


@dataclass(frozen=True)
class ReportState:
    state: ReportStateName = "none"
    by: str = ""  # the verifying observer (signed / amended) or the draft's author when known
    at: str = ""  # ISO 8601 date-time of the signature or of the last draft save
    sop_instance_uid: str = ""  # the SR that carries the state, when it is a stored SR

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _sr_state(path: Path) -> ReportState | None:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, EOFError, ValueError):
        return None
    # Only the HSG report itself carries the state: the TID 1500 measurement SR, a dose report or another
    # document in the study is not a report of it (they have other document titles).
    title = (ds.get("ConceptNameCodeSequence") or [None])[0]
    if (
        title is None
        or (str(title.get("CodeValue", "")), str(title.get("CodingSchemeDesignator", ""))) != _REPORT_TITLE
    ):
        return None
    if str(ds.get("VerificationFlag", "")).upper() != "VERIFIED":
        return ReportState("draft", at=_dicom_dt(ds.get("ContentDate", ""), ds.get("ContentTime", "")),
                           sop_instance_uid=str(ds.get("SOPInstanceUID", "")))  # fmt: skip
    observer = (ds.get("VerifyingObserverSequence") or [None])[0]
    by = str(observer.get("VerifyingObserverName", "")) if observer is not None else ""
    at = _dicom_dt(str(observer.get("VerificationDateTime", ""))[:8], str(observer.get("VerificationDateTime", ""))[8:]) if observer is not None else ""  # fmt: skip
    state: ReportStateName = "amended" if ds.get("PredecessorDocumentsSequence") else "signed"
    return ReportState(state, by=by, at=at, sop_instance_uid=str(ds.get("SOPInstanceUID", "")))


def _dicom_dt(da: Any, tm: Any) -> str:
    da, tm = str(da or ""), str(tm or "")
    if len(da) != 8 or not da.isdigit():
        return ""
    out = f"{da[:4]}-{da[4:6]}-{da[6:]}"
    digits = "".join(c for c in tm.split(".")[0] if c.isdigit())
    if len(digits) >= 4:
        out += f"T{digits[:2]}:{digits[2:4]}" + (f":{digits[4:6]}" if len(digits) >= 6 else "")
    return out


def report_states(db: LocalDatabase, drafts_dir: Path, study_uids: list[str]) -> dict[str, ReportState]:
    """The report state of each study in ``study_uids`` (studies without any report: state ``none``)."""
    wanted = set(study_uids)
    states: dict[str, ReportState] = {uid: ReportState() for uid in study_uids}
    if drafts_dir.is_dir():
        for info in DraftStore(drafts_dir).recover():
            uid = info.study_instance_uid
            if uid in wanted and not info.error and states[uid].state == "none":
                at = info.saved_at.astimezone(_dt.UTC).isoformat(timespec="seconds") if info.saved_at else ""
                states[uid] = ReportState("draft", at=at)
    for uid in study_uids:
        best = states[uid]
        for series in db.series(uid):
            for inst in db.instances(series.series_instance_uid):
                if inst.kind != SopKind.STRUCTURED_REPORT:
                    continue
                found = _sr_state(inst.path)
                if found is None:
                    continue
                if _RANK[found.state] > _RANK[best.state] or (
                    found.state == best.state and found.at > best.at and best.state != "draft"
                ):
                    best = found
        states[uid] = best
    return states
