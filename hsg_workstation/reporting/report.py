"""``HsgReport``: the root of the structured HSG report — change notification, edits by path, impression
editing, sign / amend, JSON.

Layout (field names = ``shared/docs/hsg-report-spec.md`` §1):

``HsgReport`` (root)
  identity, clinical, safety, technique, dose,
  findings (cervix, cavity, filling_defects[], adhesions, tubes.left / tubes.right, peritoneum),
  complications, impression (sentences + edit log), recommendations[], key_images[], measurements[],
  acknowledgements[], critical_result, signature, predecessor.

Why the mutators live on the root: every change made through them is checked against the lock (a signed
report refuses it) and announced to the listeners (the draft store's autosave). ``sign()`` locks every part;
a correction is a new report made by ``amend()`` that references the earlier SR (``predecessor``), as DICOM
amendments do. ``clear_inapplicable()`` empties answers whose field does not apply (``form_spec``), so what
the form hides never reaches the SR or PDF, whichever path (GUI, CLI) produced the report.

The parts are in ``sections.py``, the value sets in ``enums.py``, the codec in ``codec.py``; rules,
impression and form specification sit below this module and see the report only as a type.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from psygnal import EmitLoopError, SignalInstance

from hsg_workstation.errors import HsgError, ReportValidationError
from hsg_workstation.measurements import ImageRegion, Measurement
from hsg_workstation.reporting import eshre, form_spec, integrity
from hsg_workstation.reporting.codec import (
    SCHEMA_VERSION,
    ReportIntegrityError,
    ReportJsonError,
    _coerce,
    _decode,
    _encode,
    _hints_of,
    _resolve_parent,
)
from hsg_workstation.reporting.derived import compute_cycle_day, derive_peritoneal_spill
from hsg_workstation.reporting.enums import ImpressionEditAction, PeritonealSpill, ReportStatus
from hsg_workstation.reporting.impression import generate_impression
from hsg_workstation.reporting.parts import ReportLockedError, _Part, adopt
from hsg_workstation.reporting.rules import Issue, RuleConfig, Severity, validate
from hsg_workstation.reporting.sections import (
    Acknowledgement,
    ClinicalInformation,
    Complications,
    CriticalResult,
    FillingDefect,
    Findings,
    ImageLink,
    Impression,
    ImpressionEdit,
    ImpressionSentence,
    KeyImage,
    Predecessor,
    RadiationDose,
    Recommendation,
    SafetyChecks,
    Signature,
    StudyIdentity,
    Technique,
    Tubes,
)

# fields whose change can leave one supportable ESHRE/ESGE class (reporting.eshre)
_ESHRE_INPUTS = frozenset({"findings.cavity.shape", "findings.cavity.external_contour_source"})


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _mutator(method: Callable[..., Any]) -> Callable[..., Any]:
    """A method that announces its own edit (once, with its path): direct-assignment announcements of the
    parts it changes are held back while it runs."""

    @functools.wraps(method)
    def wrapper(self: HsgReport, *args: Any, **kwargs: Any) -> Any:
        with self._quiet():
            return method(self, *args, **kwargs)

    return wrapper


@dataclass(eq=True)
class HsgReport(_Part):
    report_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: ReportStatus = ReportStatus.DRAFT
    created_at: _dt.datetime = field(default_factory=_now)
    author_name: str = ""  # person observer (TID 1001) who drafted it
    language: str = "en"
    identity: StudyIdentity = field(default_factory=StudyIdentity)
    clinical: ClinicalInformation = field(default_factory=ClinicalInformation)
    safety: SafetyChecks = field(default_factory=SafetyChecks)
    technique: Technique = field(default_factory=Technique)
    dose: RadiationDose = field(default_factory=RadiationDose)
    findings: Findings = field(default_factory=Findings)
    complications: Complications = field(default_factory=Complications)
    impression: Impression = field(default_factory=Impression)
    recommendations: list[Recommendation] = field(default_factory=list)
    key_images: list[KeyImage] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    critical_result: CriticalResult = field(default_factory=CriticalResult)
    signature: Signature = field(default_factory=Signature)
    predecessor: Predecessor | None = None

    def __post_init__(self) -> None:
        # psygnal, as every Qt-free model here (session, measurements): ``edited(report, field_path)``
        object.__setattr__(self, "_edited", SignalInstance((object, str), name="edited"))
        object.__setattr__(self, "_mutating", 0)
        adopt(self, self, "")  # every part knows this report: a direct assignment is announced too

    def _after_copy(self) -> None:
        """``copy.deepcopy(report)``: the copy's own change signal (no listeners) and tree."""
        object.__setattr__(self, "_edited", SignalInstance((object, str), name="edited"))
        object.__setattr__(self, "_mutating", 0)
        adopt(self, self, "")

    # ----- convenience views ----------------------------------------------------------------------------
    @property
    def is_signed(self) -> bool:
        return self.status is ReportStatus.SIGNED

    @property
    def is_amendment(self) -> bool:
        return self.predecessor is not None

    @property
    def tubes(self) -> Tubes:
        return self.findings.tubes

    def effective_cycle_day(self) -> int | None:
        """Explicit ``safety.cycle_day`` if set, else study date − LMP + 1 (day 1 = first day of flow)."""
        if self.safety.cycle_day is not None:
            return self.safety.cycle_day
        return compute_cycle_day(self.safety.lmp_date, self.identity.study_date)

    def derived_peritoneal_spill(self) -> PeritonealSpill | None:
        return derive_peritoneal_spill(self.findings.tubes.left, self.findings.tubes.right)

    # ----- change notification (autosave) --------------------------------------------------------------
    @property
    def edited(self) -> SignalInstance:
        """psygnal signal ``edited(report, field_path)``, emitted after every change made through this object's
        mutators (and by :meth:`changed` after direct attribute edits). The draft store's autosave, the undo
        history, the reading session and the form listen to it; Qt widgets connect their slots to it as to any
        psygnal signal."""
        return self.__dict__["_edited"]

    def add_listener(self, callback: Callable[[HsgReport, str], None]) -> None:
        """``callback(report, field_path)`` after every change: ``edited.connect`` (kept as the short form)."""
        self.edited.connect(callback)

    def remove_listener(self, callback: Callable[[HsgReport, str], None]) -> None:
        self.edited.disconnect(callback, missing_ok=True)

    def _emit(self, field_path: str) -> None:
        if not self.is_locked:
            adopt(self, self, "")  # parts appended / replaced in lists since, and list paths after a removal
        try:
            self.edited.emit(self, field_path)
        except EmitLoopError as exc:  # a listener's own error, not psygnal's wrapper, reaches the caller
            raise (exc.__cause__ or exc) from None

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        self.__dict__["_mutating"] = self.__dict__.get("_mutating", 0) + 1
        try:
            yield
        finally:
            self.__dict__["_mutating"] -= 1

    @contextlib.contextmanager
    def edit(self, field_path: str) -> Iterator[None]:
        """Several direct assignments announced as ONE change of ``field_path`` (one autosave, one undo step):
        ``with report.edit("dose"): report.dose.x = ...; report.dose.y = ...``."""
        self._check_editable(field_path or "report")
        with self._quiet():
            yield
        self._emit(field_path)

    def _direct_edit(self, field_path: str) -> None:
        """Called by a part after a direct assignment (``parts._Part.__setattr__``)."""
        if self.__dict__.get("_mutating") or "_edited" not in self.__dict__ or self.is_signed:
            return
        self._emit(field_path)

    def changed(self, field_path: str = "") -> None:
        """Tell listeners (the draft store) that something changed; call after direct attribute edits."""
        self._check_editable(field_path or "report")
        self._emit(field_path)

    def _check_editable(self, what: str) -> None:
        if self.is_signed:
            raise ReportLockedError(f"cannot change {what}: the report is signed; create an amendment")

    # ----- generic mutators ----------------------------------------------------------------------------
    def get_value(self, path: str) -> Any:
        obj, last = _resolve_parent(self, path)
        return obj[last] if isinstance(last, int) else getattr(obj, last)

    @_mutator
    def set_value(self, path: str, value: Any) -> None:
        """Set a field by dotted path (``findings.tubes.left.patency``, ``findings.filling_defects[0].size_mm``);
        enum fields accept their string value. Notifies listeners."""
        self._check_editable(path)
        self._assign(path, value)
        self.changed(path)

    def _assign(self, path: str, value: Any) -> None:
        """``set_value`` without the notification (for edits announced together as one change)."""
        obj, last = _resolve_parent(self, path)
        if isinstance(last, int):
            obj[last] = value
        else:
            if not dataclasses.is_dataclass(obj) or last not in {f.name for f in dataclasses.fields(obj)}:
                raise KeyError(f"report field {path!r} does not exist")
            hint = _hints_of(type(obj))[0][last]
            try:
                value = _coerce(value, hint, path)
            except ReportJsonError as exc:
                raise ValueError(str(exc)) from None
            setattr(obj, last, value)
        if path.startswith("findings.adhesions.afs_"):
            self.findings.adhesions.update_afs()
        if path in _ESHRE_INPUTS:
            # an indented cavity on HSG alone has one supportable class, "not assessable on HSG" (issue 11);
            # announced with the change that caused it
            forced = eshre.forced_class(self.findings.cavity)
            if forced is not None and self.findings.cavity.eshre_uterus is not forced:
                self.findings.cavity.eshre_uterus = forced

    @_mutator
    def add_filling_defect(self, defect: FillingDefect | None = None) -> FillingDefect:
        self._check_editable("findings.filling_defects")
        defect = defect or FillingDefect()
        self.findings.filling_defects.append(defect)
        self.changed(f"findings.filling_defects[{len(self.findings.filling_defects) - 1}]")
        return defect

    @_mutator
    def remove_filling_defect(self, index: int) -> None:
        self._check_editable("findings.filling_defects")
        del self.findings.filling_defects[index]
        self.changed("findings.filling_defects")

    @_mutator
    def add_image_link(self, path: str, link: ImageLink) -> None:
        """Link an image region to the finding at ``path`` (a part with ``image_links``). A link carrying a
        measurement is stored as a reference to it (``measurement_id``), the measurement in ``measurements``."""
        self._check_editable(path)
        target = self.get_value(path) if path else self
        if not hasattr(target, "image_links"):
            raise KeyError(f"report field {path!r} cannot carry image links")
        if link.measurement is not None:
            if self.measurement(link.measurement.id) is None:
                self.measurements.append(link.measurement)
            link = dataclasses.replace(link, measurement=None, measurement_id=link.measurement.id)
        elif link.measurement_id and self.measurement(link.measurement_id) is None:
            raise KeyError(f"{path}: the report has no measurement {link.measurement_id!r} to link")
        target.image_links.append(link)
        self.changed(f"{path}.image_links")

    # ----- measurements: one object each, findings refer to them by id ----------------------------------
    def measurement(self, measurement_id: str) -> Measurement | None:
        return next((m for m in self.measurements if m.id == measurement_id), None)

    def link_measurement(self, link: ImageLink) -> Measurement | None:
        """The measurement a finding's link refers to (by id; the copy an older report carried otherwise)."""
        if link.measurement_id:
            return self.measurement(link.measurement_id)
        return link.measurement

    def link_region(self, link: ImageLink) -> ImageRegion | None:
        """Where a link points on its frame: its measurement's region as it is now, else its own region."""
        m = self.link_measurement(link)
        return m.region if m is not None else link.region

    def all_image_links(self) -> list[tuple[str, ImageLink]]:
        """(finding path, link) for every image link of every finding, in report order."""
        return [(path, link) for path, part in self._parts_with_links() for link in part.image_links]

    @_mutator
    def add_measurement(self, measurement: Measurement) -> None:
        """A measurement drawn in the viewer becomes the report's (with its calibration basis)."""
        self._check_editable("measurements")
        if self.measurement(measurement.id) is not None:
            self.replace_measurement(measurement)
            return
        self.measurements.append(measurement)
        self.changed(f"measurements[{len(self.measurements) - 1}]")

    @_mutator
    def replace_measurement(self, measurement: Measurement, values: Mapping[str, Any] | None = None) -> None:
        """The measurement with this id, moved or re-calibrated: every link to it now reads the new value.
        ``values``: fields measured from it that change with it (a "Mark on image" diameter), set in the same
        change — one notification, so one undo step and one autosave."""
        self._check_editable("measurements")
        for i, m in enumerate(self.measurements):
            if m.id == measurement.id:
                if m == measurement:
                    return
                for path, value in (values or {}).items():
                    self._assign(path, value)
                self.measurements[i] = measurement
                self.changed(f"measurements[{i}]")
                return
        raise KeyError(f"the report has no measurement {measurement.id!r}")

    @_mutator
    def remove_measurement(self, measurement_id: str) -> None:
        """Delete a measurement and every finding's link to it (a link to nothing would point nowhere)."""
        self._check_editable("measurements")
        kept = [m for m in self.measurements if m.id != measurement_id]
        if len(kept) == len(self.measurements):
            return
        self.measurements[:] = kept
        for _path, link_part in self._parts_with_links():
            link_part.image_links[:] = [
                k for k in link_part.image_links if k.measurement_id != measurement_id
            ]
        self.changed("measurements")

    def _parts_with_links(self) -> list[tuple[str, Any]]:
        f = self.findings
        parts: list[tuple[str, Any]] = [("findings.cervix", f.cervix), ("findings.cavity", f.cavity)]
        parts += [(f"findings.filling_defects[{i}]", d) for i, d in enumerate(f.filling_defects)]
        parts += [
            ("findings.adhesions", f.adhesions),
            ("findings.tubes.right", f.tubes.right),
            ("findings.tubes.left", f.tubes.left),
            ("findings.peritoneum", f.peritoneum),
        ]
        return parts

    @_mutator
    def add_key_image(self, key_image: KeyImage) -> None:
        self._check_editable("key_images")
        if key_image not in self.key_images:
            self.key_images.append(key_image)
        self.changed("key_images")

    @_mutator
    def acknowledge(self, rule_id: str, field_path: str, reason: str, who: str) -> Acknowledgement:
        """Record that a warning was read and accepted; an empty reason is refused."""
        self._check_editable("acknowledgements")
        if not reason.strip() or not who.strip():
            raise ValueError(f"acknowledging {rule_id} at {field_path!r} needs a reason and a name")
        self.acknowledgements[:] = [
            a for a in self.acknowledgements if (a.rule_id, a.field_path) != (rule_id, field_path)
        ]
        ack = Acknowledgement(rule_id, field_path, reason.strip(), who.strip(), _now())
        self.acknowledgements.append(ack)
        self.changed("acknowledgements")
        return ack

    def is_acknowledged(self, rule_id: str, field_path: str) -> bool:
        return any((a.rule_id, a.field_path) == (rule_id, field_path) for a in self.acknowledgements)

    # ----- answers that do not apply -------------------------------------------------------------------
    @_mutator
    def clear_inapplicable(self, keep: Collection[str] = ()) -> dict[str, Any]:
        """Empty every answer whose field does not apply (``form_spec``); returns ``{path: value removed}``.

        An occlusion level left behind after the tube was changed to 'patent' would be hidden by the form yet
        written to the SR and PDF, so every path that produces outputs runs this: the GUI form after each edit
        (it keeps the removed values to give them back if the field applies again), ``report export`` and a
        report read from JSON (``workflows.load_report_json``). Repeated until nothing changes, so a field whose
        condition depends on a cleared one is cleared too. ``keep``: paths left as they are (the form keeps
        values that arrived on inapplicable fields visible rather than dropping them unseen).
        """
        self._check_editable("report")
        cleared: dict[str, Any] = {}
        while True:
            changed = False
            for spec in form_spec.conditional_fields(self):
                if spec.path in keep or form_spec.applies(spec, self):
                    continue
                empty = form_spec.empty_value_at(self, spec.path)
                value = self.get_value(spec.path)
                if empty is form_spec.NO_EMPTY or value == empty:
                    continue
                cleared.setdefault(spec.path, value)
                self.set_value(spec.path, empty)
                changed = True
            if not changed:
                return cleared

    # ----- impression ------------------------------------------------------------------------------------
    @_mutator
    def regenerate_impression(self, who: str = "", *, keep_edited: bool = True) -> None:
        """Replace generated sentences with the generator's current output. Sentences the radiologist edited
        or added are kept (``keep_edited``) so regenerating never loses typed text."""
        self._check_editable("impression")
        fresh = generate_impression(self)
        kept = [s for s in self.impression.sentences if not s.generated] if keep_edited else []
        kept_keys = {s.source_key for s in kept if s.source_key}
        # A generated sentence the radiologist removed stays removed while its text is unchanged.
        removed = {
            (e.source_key, e.old_text)
            for e in self.impression.edits
            if e.action is ImpressionEditAction.REMOVED and e.source_key
        }
        new = [s for s in fresh if s.source_key not in kept_keys and (s.source_key, s.text) not in removed]
        old_text = self.impression.text
        self.impression.sentences = _merge_in_order(new, kept, [s.source_key for s in fresh])
        self.impression.edits.append(
            ImpressionEdit(
                ImpressionEditAction.REGENERATED, "", old_text, self.impression.text, "", who, _now()
            )
        )
        self.changed("impression.sentences")

    @_mutator
    def edit_impression_sentence(self, index: int, text: str, who: str, reason: str = "") -> None:
        self._check_editable("impression")
        s = self.impression.sentences[index]
        old = s.text
        if old == text:
            return
        s.text = text
        if not s.generated_text and s.generated:
            s.generated_text = old
        s.generated = (
            bool(s.generated_text) and text == s.generated_text
        )  # typing the original back restores it
        self.impression.edits.append(
            ImpressionEdit(ImpressionEditAction.EDITED, s.source_key, old, text, reason, who, _now())
        )
        self.changed(f"impression.sentences[{index}].text")

    @_mutator
    def remove_impression_sentence(self, index: int, who: str, reason: str = "") -> None:
        self._check_editable("impression")
        s = self.impression.sentences.pop(index)
        self.impression.edits.append(
            ImpressionEdit(ImpressionEditAction.REMOVED, s.source_key, s.text, "", reason, who, _now())
        )
        self.changed("impression.sentences")

    @_mutator
    def add_impression_sentence(self, text: str, who: str, index: int | None = None) -> None:
        self._check_editable("impression")
        s = ImpressionSentence(text=text, source_key="", generated=False)
        self.impression.sentences.insert(len(self.impression.sentences) if index is None else index, s)
        self.impression.edits.append(
            ImpressionEdit(ImpressionEditAction.ADDED, "", "", text, "", who, _now())
        )
        self.changed("impression.sentences")

    # ----- lifecycle -----------------------------------------------------------------------------------
    def validate(self, config: RuleConfig | None = None) -> list[Issue]:
        return validate(self, config or RuleConfig())

    @_mutator
    def sign(
        self,
        verifying_observer_name: str,
        when: _dt.datetime | None = None,
        *,
        organization: str = "",
        config: RuleConfig | None = None,
    ) -> None:
        """DRAFT → SIGNED. Raises ``ReportValidationError`` listing every error and every unacknowledged
        warning; on success the report is locked."""
        self._check_editable("status")
        if not verifying_observer_name.strip():
            raise ReportValidationError("signing needs the verifying observer's name", [])
        issues = validate(self, config or RuleConfig())
        blocking = [
            i
            for i in issues
            if i.severity is Severity.ERROR
            or (i.severity is Severity.WARNING and not self.is_acknowledged(i.rule_id, i.field_path))
        ]
        if blocking:
            lines = "; ".join(f"{i.rule_id} {i.severity.value} {i.field_path}: {i.message}" for i in blocking)
            raise ReportValidationError(
                f"report cannot be signed ({len(blocking)} problems): {lines}", blocking
            )
        self.signature.verifying_observer_name = verifying_observer_name.strip()
        self.signature.verifying_organization = organization
        self.signature.verification_datetime = when or _now()
        self.status = ReportStatus.SIGNED
        self._emit("status")
        self._lock()

    def amend(self, predecessor_sr_sop_instance_uid: str = "", reason: str = "", **kw: str) -> HsgReport:
        """A new DRAFT copy of this signed report that references it (and its SR) as predecessor."""
        if not self.is_signed:
            raise HsgError("only a signed report can be amended; edit the draft instead")
        data = self.to_json()
        data.pop(integrity.INTEGRITY_KEY, None)  # the copy is a new draft: the seal belongs to this report
        data.update(
            report_id=uuid.uuid4().hex, status=ReportStatus.DRAFT.value, created_at=_now().isoformat()
        )
        data["signature"] = {}
        data["acknowledgements"] = []
        new = HsgReport.from_json(data)
        new.predecessor = Predecessor(
            report_id=self.report_id,
            sr_sop_instance_uid=predecessor_sr_sop_instance_uid,
            sr_series_instance_uid=kw.get("sr_series_instance_uid", ""),
            study_instance_uid=self.identity.study_instance_uid,
            reason=reason,
        )
        return new

    # ----- JSON ------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The report as JSON; a signed report also carries its integrity check (``reporting/integrity.py``)."""
        data = {"schema_version": SCHEMA_VERSION, **_encode(self)}
        return integrity.seal(data) if self.is_signed else data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, require_integrity: bool = False) -> HsgReport:
        """Rebuild a report. The integrity check of a signed report is verified when present; with
        ``require_integrity`` (JSON read from disk) a signed report without one is refused too. Both raise
        :class:`ReportIntegrityError`."""
        if not isinstance(data, dict):
            raise ReportJsonError(f"report JSON must be an object, got {type(data).__name__}")
        data = dict(data)
        block = data.pop(integrity.INTEGRITY_KEY, None)
        version = data.pop("schema_version", None)
        if version is None:
            raise ReportJsonError("report JSON: 'schema_version' is missing")
        if not isinstance(version, int) or version < 1 or version > SCHEMA_VERSION:
            raise ReportJsonError(
                f"report JSON: schema_version {version!r} is not supported (this program reads 1..{SCHEMA_VERSION})"
            )
        report = _decode(data, HsgReport, "")
        if block is not None or report.is_signed:
            try:
                integrity.verify(
                    {"schema_version": version, **_encode(report)},
                    block,
                    signed=report.is_signed,
                    required=require_integrity,
                    as_read={"schema_version": version, **data},
                )
            except integrity.ReportIntegrityProblem as exc:
                raise ReportIntegrityError(f"report {report.report_id}: {exc}") from None
        if report.is_signed:
            report._lock()
        return report


def _merge_in_order(
    generated: list[ImpressionSentence], kept: list[ImpressionSentence], order: list[str]
) -> list[ImpressionSentence]:
    """Generated sentences in generator order; kept (edited/added) ones at their generator position if keyed,
    otherwise at the end."""
    rank = {k: i for i, k in enumerate(order)}
    keyed = [(rank.get(s.source_key, len(order) + n), n, s) for n, s in enumerate(generated + kept)]
    return [s for _, _, s in sorted(keyed, key=lambda t: (t[0], t[1]))]
