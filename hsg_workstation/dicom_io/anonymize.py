"""Anonymised export of studies for teaching files, audits and bug reports (PS3.15 Basic Application Level
Confidentiality Profile, with the Retain Longitudinal Temporal Information with Modified Dates and Retain Patient
Characteristics options).

Built on **dicognito** rather than a hand-written tag list: it replaces every PN, every instance UID (class and
transfer-syntax UIDs excepted), the identifying IDs, addresses, equipment and institution names, and shifts every
date / time / datetime by one offset — all from one keyed randomizer, so the same input value always maps to the
same output value. That consistency is what keeps an exported SR's and KOS's references resolving inside the
exported set, and what makes the pseudonym stable per patient: the key is a secret kept in the data directory
(``anonymize.key``), so the same patient gets the same pseudonym in every export from this workstation, and
nobody without the key can map it back. (``deid`` was the other candidate; it is a recipe engine whose Basic
profile recipe must be written and kept up to date here — the very hand-written tag list the issue warns against.)

On top of dicognito, what the Basic profile asks and dicognito leaves: private tags removed; free-text
descriptions and comments removed; every remaining text value checked for the source patient's name and IDs
(replaced by ``[removed]``); Patient Identity Removed = YES with the De-identification Method Code Sequence.
Last, every written file is searched byte by byte for the source's identifying strings; a file that still holds
one is deleted and reported — an export is never trusted on faith.

Not exported: Encapsulated PDFs (their pages carry the identity as drawn text that no tag-level tool can
remove — export the SR instead) and images with Burned In Annotation = YES.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from dicognito.anonymizer import Anonymizer
from dicognito.datetimeanonymizer import DateTimeAnonymizer
from dicognito.uianonymizer import UIAnonymizer
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from hsg_workstation.errors import HsgError

KEY_FILE = "anonymize.key"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"
REPLACEMENT = "[removed]"

# (code, meaning) in DCM (PS3.16 CID 7050 De-identification Method)
_METHOD_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
)

# Free text the Basic profile removes (action X / Z on type 3) and dicognito keeps.
_REMOVE_TEXT = (
    "StudyDescription",
    "SeriesDescription",
    "ImageComments",
    "PatientComments",
    "AdditionalPatientHistory",
    "RequestedProcedureDescription",
    "PerformedProcedureStepDescription",
    "AdmittingDiagnosesDescription",
    "DerivationDescription",
    "ProtocolName",
    "InstitutionalDepartmentName",
    "MedicalAlerts",
    "Allergies",
    "Occupation",
)
_TEXT_VRS = {"ST", "LT", "UT", "LO", "SH", "UC", "PN"}
_IDENTIFYING = (
    "PatientName",
    "PatientID",
    "OtherPatientIDs",
    "PatientBirthDate",
    "AccessionNumber",
    "StudyID",
    "InstitutionName",
    "InstitutionAddress",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "StationName",
)


@dataclass
class AnonymizeResult:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    text_replacements: int = 0
    studies: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "written": [str(p) for p in self.written],
            "skipped": [{"path": str(p), "reason": r} for p, r in self.skipped],
            "text_replacements": self.text_replacements,
            "studies": self.studies,
        }


def workstation_key(data_dir: str | os.PathLike[str]) -> str:
    """The secret that keys the pseudonyms: created once (0600) in the data directory."""
    path = Path(data_dir) / KEY_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key


def _identifying_strings(ds: Dataset) -> set[str]:
    """The source's identifying values as they could appear in text: whole values, and person names in the
    forms people write them ("Family^Given", "Given Family", "Family, Given"). Single name components are not
    searched: a given name such as "Rose" or "Normal" is also an ordinary word of a report."""
    found: set[str] = set()
    for keyword in _IDENTIFYING:
        value = ds.get(keyword)
        if value in (None, ""):
            continue
        values = value if isinstance(value, list | pydicom.multival.MultiValue) else [value]
        for v in values:
            text = str(v).strip().rstrip("^")
            if not text:
                continue
            found.add(text)
            if ds.data_element(keyword).VR == "PN":
                parts = [p.strip() for p in text.split("=")[0].split("^")]
                family, given = (parts + ["", ""])[:2]
                if family and given:
                    found.update(
                        {f"{family}^{given}", f"{given} {family}", f"{family}, {given}", f"{family} {given}"}
                    )
            if keyword == "PatientBirthDate" and re.fullmatch(r"\d{8}", text):
                found.add(f"{text[:4]}-{text[4:6]}-{text[6:]}")
    return {s for s in found if len(s) >= 4}


def _scrub_text(ds: Dataset, needles: Iterable[str]) -> int:
    """Replace the needles in every remaining text value (nested sequences included); returns how many."""
    patterns = [re.compile(re.escape(n), re.IGNORECASE) for n in sorted(needles, key=len, reverse=True)]
    count = 0

    def visit(dataset: Dataset, elem: pydicom.DataElement) -> None:
        nonlocal count
        if elem.VR not in _TEXT_VRS or elem.value in (None, ""):
            return
        values = list(elem.value) if elem.VM > 1 else [elem.value]
        changed = False
        out = []
        for v in values:
            text = str(v)
            for pattern in patterns:
                text, n = pattern.subn(REPLACEMENT, text)
                if n:
                    count += n
                    changed = True
            out.append(text)
        if changed:
            elem.value = out if elem.VM > 1 else out[0]

    ds.walk(visit)
    return count


# a UID in running text: first arc 0, 1 or 2 and at least 16 characters (a version "3.6.7" or a date never is)
_UID_IN_TEXT = re.compile(r"(?<![\d.])[012](?:\.[0-9]+)+(?![\d.])")
_ISO_IN_TEXT = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?")


class _TextFollower:
    """Makes UIDs and ISO dates written *inside text values* follow the anonymisation of the real UI / DA / DT
    elements. Why: the report SR (content format 4, TID 2002 has no UIDREF / DATE rows) writes source-image UIDs
    and dates as TEXT; dicognito maps only UI / DA / DT elements, so the anonymised SR kept the original UIDs
    (linkable to the source study) and unshifted dates (the LMP next to a shifted study date). The mapping and the
    offset are the anonymizer's own (its UI handler and the DA / DT handler that runs first), not a copy of
    dicognito's formulas, so text and elements cannot drift apart."""

    def __init__(self, anonymizer: Anonymizer) -> None:
        # dicognito keeps its handlers in run order; the first DA / DT handler is the one that applies
        handlers = list(anonymizer._element_handlers)
        self._ui = next(h for h in handlers if isinstance(h, UIAnonymizer))
        self._offset: _dt.timedelta = next(h for h in handlers if isinstance(h, DateTimeAnonymizer)).offset
        self.count = 0

    def _uid(self, match: re.Match[str]) -> str:
        uid = match.group(0)
        if len(uid) < 16 or uid.startswith("1.2.840.10008."):  # short numbers, standard class / syntax UIDs
            return uid
        self.count += 1
        return self._ui._new_ui(uid)

    def _date(self, match: re.Match[str]) -> str:
        year, month, day, hour, minute, second = match.groups()
        try:
            when = _dt.datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        except ValueError:
            return match.group(0)  # not a date after all
        shifted = when + self._offset
        self.count += 1
        if hour is None:
            return shifted.strftime("%Y-%m-%d")
        return shifted.strftime("%Y-%m-%dT%H:%M" + (":%S" if second is not None else ""))

    def apply(self, ds: Dataset) -> None:
        def visit(_dataset: Dataset, elem: pydicom.DataElement) -> None:
            if elem.VR not in _TEXT_VRS - {"PN"} or elem.value in (None, ""):
                return
            values = list(elem.value) if elem.VM > 1 else [elem.value]
            out = [_ISO_IN_TEXT.sub(self._date, _UID_IN_TEXT.sub(self._uid, str(v))) for v in values]
            if out != [str(v) for v in values]:
                elem.value = out if elem.VM > 1 else out[0]

        ds.walk(visit)


def _mark_deidentified(ds: Dataset, *, dates_shifted_days: int | None) -> None:
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "HSG Workstation anonymize (dicognito, PS3.15 Basic profile)" + (
        f"; dates shifted by {dates_shifted_days} days" if dates_shifted_days is not None else ""
    )
    items = []
    for code, meaning in _METHOD_CODES:
        item = Dataset()
        item.CodeValue = code
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = items


def _atomic_write(ds: Dataset, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".anon-", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        ds.save_as(tmp, enforce_file_format=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _leaks(path: Path, needles: Iterable[str]) -> list[str]:
    data = path.read_bytes().lower()
    hits = []
    for n in needles:
        for enc in ("utf-8", "latin-1"):
            try:
                if n.lower().encode(enc) in data:
                    hits.append(n)
                    break
            except UnicodeEncodeError:
                continue
    return hits


def anonymize_files(
    files: Iterable[Path],
    out_dir: Path,
    *,
    key: str,
    shift_days: int | None = None,
    progress: Callable[[Path], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> AnonymizeResult:
    """Anonymise ``files`` (one export, one keyed mapping) into ``out_dir/<study>/<instance>.dcm``.

    ``shift_days``: move every date by exactly this many days (negative = earlier); without it dicognito's
    keyed offset of 62–730 days into the past is used (the same for every file of this export and key).
    Sources are only read. Raises HsgError only for an unusable ``out_dir``; per-file problems are ``skipped``.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HsgError(f"{out_dir}: cannot create the output folder: {exc.strerror or exc}") from None
    anonymizer = Anonymizer(seed=key)
    if shift_days is not None:
        # Handlers added first run first: this one handles every DA / DT / TM before dicognito's own offset.
        anonymizer.add_element_handler(DateTimeAnonymizer(shift_days * 24))
    follower = _TextFollower(anonymizer)  # after the handlers are complete: it takes theirs
    result = AnonymizeResult()
    studies: set[str] = set()
    for path in files:
        if cancelled is not None and cancelled():
            result.skipped.append((path, "not exported: cancelled"))
            continue
        if progress is not None:
            progress(path)
        try:
            ds = pydicom.dcmread(path)
        except (InvalidDicomError, OSError, EOFError, ValueError) as exc:
            result.skipped.append((path, f"not a readable DICOM file: {exc}"))
            continue
        if str(ds.get("SOPClassUID", "")) == ENCAPSULATED_PDF:
            result.skipped.append(
                (path, "Encapsulated PDF: its pages show the patient's identity; export the SR instead")
            )
            continue
        if str(ds.get("BurnedInAnnotation", "NO")).upper() == "YES":
            result.skipped.append((path, "Burned In Annotation = YES: identity may be drawn into the pixels"))
            continue
        needles = _identifying_strings(ds)
        try:
            ds.remove_private_tags()
            for keyword in _REMOVE_TEXT:
                if keyword in ds:
                    del ds[keyword]
            anonymizer.anonymize(ds)
            result.text_replacements += _scrub_text(ds, needles)
            before = follower.count
            follower.apply(ds)
            result.text_replacements += follower.count - before
            _mark_deidentified(ds, dates_shifted_days=shift_days)
            target = out_dir / str(ds.StudyInstanceUID) / f"{ds.SOPInstanceUID}.dcm"
            _atomic_write(ds, target)
        except (AttributeError, ValueError, TypeError, OverflowError, KeyError) as exc:
            result.skipped.append((path, f"cannot anonymise: {type(exc).__name__}: {exc}"))
            continue
        except OSError as exc:
            raise HsgError(f"{out_dir}: cannot write: {exc.strerror or exc}") from None
        leaked = _leaks(target, needles)
        if leaked:
            target.unlink(missing_ok=True)
            result.skipped.append(
                (path, f"removed again: the output still held {len(leaked)} identifying value(s)")
            )
            continue
        studies.add(str(ds.StudyInstanceUID))
        result.written.append(target)
    result.studies = len(studies)
    return result
