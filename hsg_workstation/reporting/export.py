"""Export every report output in one call — used by the CLI, the GUI's Export button and the benchmark.

``export_all(report, study, sr_path=..., pdf_path=..., encapsulated_pdf_path=..., kos_path=...)`` writes any
subset of: Comprehensive SR, PDF/A, Encapsulated PDF, Key Object Selection, all in the report's source study.
The study is a folder of DICOM files (searched recursively; non-DICOM files such as ``report.json`` and
earlier report objects are skipped) or a list of datasets / paths. Outputs are written to a temporary file
and renamed, so a failure never leaves half a file, and an output path that is one of the study's files is
refused: source files are never modified.

Qt is only imported when a PDF is asked for (``pdf.py``), so SR/KOS export works without it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from hsg_workstation.errors import HsgError
from hsg_workstation.reporting.encapsulated import build_encapsulated_pdf
from hsg_workstation.reporting.kos import build_kos
from hsg_workstation.reporting.measurement_sr import build_measurement_sr
from hsg_workstation.reporting.model import HsgReport
from hsg_workstation.reporting.sr import (
    COMPREHENSIVE_SR,
    SrBuildError,
    build_sr,
    document_series_uid,
    lifecycle_word,
    report_series_uid,
)

StudyInput = str | os.PathLike[str] | Sequence[Dataset | str | os.PathLike[str]]


class ExportError(HsgError):
    """An output could not be produced; the message names the file or field and the reason."""


@dataclass
class StudyImages:
    """The study's image headers (evidence / patient / study) and where each instance's pixels come from."""

    headers: list[Dataset]
    sources: dict[str, Path | Dataset] = field(default_factory=dict)  # SOP Instance UID → path or dataset
    paths: set[Path] = field(default_factory=set)
    #: Series Instance UID → highest Instance Number of the documents (SR, PDF, KOS) already in the study folder,
    #: so a new version of a document continues its series instead of starting again at 1.
    document_instances: dict[str, int] = field(default_factory=dict)


@dataclass
class ExportResult:
    sr: Dataset | None = None
    measurement_sr: Dataset | None = None
    kos: Dataset | None = None
    encapsulated_pdf: Dataset | None = None
    pdf: bytes | None = None
    written: list[Path] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


def _iter_files(root: Path) -> Iterable[Path]:
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            yield Path(dirpath) / name


def _is_image(ds: Dataset) -> bool:
    return "SOPInstanceUID" in ds and "Rows" in ds and "Columns" in ds


def load_study(study: StudyInput, study_instance_uid: str = "") -> StudyImages:
    """Headers of the study's images from a folder or a list of datasets/paths (only ``study_instance_uid``
    when given). Raises ExportError when the folder is missing or holds no image of that study."""
    items: list[Dataset | Path] = []
    if isinstance(study, str | os.PathLike):
        root = Path(study)
        if not root.is_dir():
            raise ExportError(f"study folder {root} does not exist or is not a folder")
        items.extend(_iter_files(root))
    else:
        items.extend(s if isinstance(s, Dataset) else Path(s) for s in study)
    out = StudyImages(headers=[])
    for item in items:
        if isinstance(item, Dataset):
            ds, source = item, item
        else:
            try:
                ds = dcmread(item, stop_before_pixels=True)
            except (InvalidDicomError, OSError, ValueError, EOFError, KeyError):
                continue  # not DICOM (report.json, truth.json, ...): not part of the evidence
            source = item
            out.paths.add(item.resolve())
        if not _is_image(ds):
            series = str(ds.get("SeriesInstanceUID", ""))
            try:
                number = int(ds.get("InstanceNumber", 0) or 0)
            except (TypeError, ValueError):
                number = 0
            if series:
                out.document_instances[series] = max(out.document_instances.get(series, 0), number)
            continue
        if study_instance_uid and str(ds.get("StudyInstanceUID", "")) != study_instance_uid:
            continue
        uid = str(ds.SOPInstanceUID)
        if uid in out.sources:
            continue
        out.headers.append(ds)
        out.sources[uid] = source
    if not out.headers:
        where = study if isinstance(study, str | os.PathLike) else "the given datasets"
        which = f" of study {study_instance_uid}" if study_instance_uid else ""
        raise ExportError(f"{where}: no DICOM image{which} found")
    return out


def _write_atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def export_all(
    report: HsgReport,
    study: StudyInput | StudyImages,
    *,
    sr_path: str | os.PathLike[str] | None = None,
    pdf_path: str | os.PathLike[str] | None = None,
    encapsulated_pdf_path: str | os.PathLike[str] | None = None,
    kos_path: str | os.PathLike[str] | None = None,
    predecessor: Dataset | None = None,
    build_all: bool = False,
    measurement_sr_path: str | os.PathLike[str] | None = None,
) -> ExportResult:
    """Build the requested outputs (``build_all``: build every output even without a path — benchmark, GUI
    preview) and write those with a path. Returns the built objects, written paths and per-part timings."""
    t0 = time.perf_counter()
    images = (
        study if isinstance(study, StudyImages) else load_study(study, report.identity.study_instance_uid)
    )
    result = ExportResult()
    result.timings_s["load_study_s"] = time.perf_counter() - t0
    outputs = {
        "sr": sr_path,
        "measurement_sr": measurement_sr_path,
        "pdf": pdf_path,
        "encapsulated_pdf": encapsulated_pdf_path,
        "kos": kos_path,
    }
    given = [Path(p).resolve() for p in outputs.values() if p is not None]
    if len(given) != len(set(given)):
        raise ExportError("two outputs name the same file; each output needs its own path")
    for name, p in outputs.items():
        if p is not None and Path(p).resolve() in images.paths:
            raise ExportError(
                f"--{name.replace('_', '-')} {p}: is one of the study's source files; refusing to overwrite"
            )
    want = {k: build_all or v is not None for k, v in outputs.items()}
    headers = images.headers
    # Evidence = the report's own source instances when recorded, else every image of the study.
    recorded = {s.sop_instance_uid for s in report.identity.source_instances}
    evidence = [h for h in headers if str(h.SOPInstanceUID) in recorded] if recorded else list(headers)
    referenced = {k.sop_instance_uid for k in report.key_images}
    evidence += [h for h in headers if str(h.SOPInstanceUID) in referenced and h not in evidence]
    evidence = evidence or list(headers)
    # Image links may point at any image of the study; the writer checks them against these.
    evidence_all = evidence + [h for h in headers if h not in evidence]

    study_uid = str(headers[0].StudyInstanceUID)

    def next_number(series_uid: str) -> int:
        """Next Instance Number in a document series: after those already in the study folder and after the
        predecessor (an amendment is a later version of the same document)."""
        last = images.document_instances.get(series_uid, 0)
        if predecessor is not None:  # the version it replaces: every document of this version comes after it
            try:
                last = max(last, int(predecessor.get("InstanceNumber", 0) or 0))
            except (TypeError, ValueError):
                pass
        return last + 1

    if want["measurement_sr"]:
        t = time.perf_counter()
        try:
            result.measurement_sr = build_measurement_sr(
                report,
                evidence_all,
                instance_number=next_number(document_series_uid(study_uid, "measurement-sr")),
            )
        except ValueError as exc:
            raise ExportError(f"measurement SR: {exc}") from None
        if result.measurement_sr is None and measurement_sr_path is not None:
            raise ExportError("--measurement-sr: the report has no image regions or measurements")
        result.timings_s["measurement_sr_s"] = time.perf_counter() - t
    if want["sr"]:
        t = time.perf_counter()
        try:
            result.sr = build_sr(
                report,
                evidence_all,
                predecessor=predecessor,
                instance_number=next_number(report_series_uid(study_uid)),
                measurement_sr=result.measurement_sr,
            )
        except SrBuildError as exc:
            raise ExportError(f"SR: {exc}") from None
        result.timings_s["sr_s"] = time.perf_counter() - t
    if want["pdf"] or want["encapsulated_pdf"]:
        t = time.perf_counter()
        from hsg_workstation.reporting.pdf import render_pdf  # Qt only when a PDF is asked for

        try:
            result.pdf = render_pdf(report, images.sources)
        except ValueError as exc:
            raise ExportError(f"PDF: {exc}") from None
        result.timings_s["pdf_s"] = time.perf_counter() - t
    if want["encapsulated_pdf"]:
        t = time.perf_counter()
        key_uids = {k.sop_instance_uid for k in report.key_images}
        used = [h for h in headers if str(h.SOPInstanceUID) in key_uids] or evidence
        pdf_series = document_series_uid(study_uid, "pdf")
        sig_time = report.signature.verification_datetime if report.is_signed else None
        result.encapsulated_pdf = build_encapsulated_pdf(
            result.pdf or b"",
            used,
            institution_name=report.identity.institution_name or None,
            document_title=f"Hysterosalpingography report ({lifecycle_word(report)})",
            series_instance_uid=pdf_series,
            instance_number=next_number(pdf_series),
            verified=report.is_signed,
            predecessors=_predecessor_items(report, predecessor),
            now=sig_time,
        )
        result.timings_s["encapsulated_pdf_s"] = time.perf_counter() - t
    if want["kos"]:
        if not report.key_images:
            if kos_path is not None:
                raise ExportError("--kos: the report has no key images to select")
        else:
            t = time.perf_counter()
            try:
                kos_series = document_series_uid(study_uid, "kos")
                result.kos = build_kos(
                    headers,
                    [(k.sop_instance_uid, int(k.frame_number)) for k in report.key_images],
                    observer_name=report.signature.verifying_observer_name or report.author_name or None,
                    series_instance_uid=kos_series,
                    instance_number=next_number(kos_series),
                )
            except ValueError as exc:
                raise ExportError(f"KOS: {exc}") from None
            result.timings_s["kos_s"] = time.perf_counter() - t

    t = time.perf_counter()
    writes = [
        (Path(path), lambda tmp, obj=obj: obj.save_as(tmp, enforce_file_format=True))
        for obj, path in (
            (result.sr, sr_path),
            (result.measurement_sr, measurement_sr_path),
            (result.encapsulated_pdf, encapsulated_pdf_path),
            (result.kos, kos_path),
        )
        if obj is not None and path is not None
    ]
    if pdf_path is not None and result.pdf is not None:
        writes.append((Path(pdf_path), lambda tmp: tmp.write_bytes(result.pdf or b"")))
    for path, write in writes:
        try:
            _write_atomic(path, write)
        except OSError as exc:
            # Each output is atomic, but they are written one after another: say which ones are already out.
            done = ", ".join(str(p) for p in result.written) or "nothing"
            raise ExportError(
                f"{path}: cannot be written ({exc.strerror or exc}); already written: {done}"
            ) from None
        result.written.append(path)
    result.timings_s["write_s"] = time.perf_counter() - t
    result.timings_s["export_all_s"] = time.perf_counter() - t0
    return result


def _predecessor_items(report: HsgReport, predecessor: Dataset | None) -> list[Dataset] | None:
    """Predecessor Documents Sequence items for an amendment's PDF: the report version it replaces (its SR — the
    earlier PDF's UID is not known to the report)."""
    p = report.predecessor
    uid = str(predecessor.SOPInstanceUID) if predecessor is not None else (p.sr_sop_instance_uid if p else "")
    if not uid:
        return None
    study = (
        str(predecessor.StudyInstanceUID) if predecessor is not None else (p.study_instance_uid if p else "")
    ) or report.identity.study_instance_uid
    series = (
        str(predecessor.SeriesInstanceUID)
        if predecessor is not None
        else (p.sr_series_instance_uid if p else "")
    ) or report_series_uid(study)
    sop_class = str(predecessor.SOPClassUID) if predecessor is not None else COMPREHENSIVE_SR
    ref = Dataset()
    ref.ReferencedSOPClassUID = sop_class
    ref.ReferencedSOPInstanceUID = uid
    series_item = Dataset()
    series_item.SeriesInstanceUID = series
    series_item.ReferencedSOPSequence = [ref]
    item = Dataset()
    item.StudyInstanceUID = study
    item.ReferencedSeriesSequence = [series_item]
    return [item]
