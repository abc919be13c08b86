"""Report templates and the reader's own defaults (Qt-free).

Why: a normal HSG is most of what a fertility unit reports; typing it field by field took ~4.5 minutes. A
template fills the *findings* of a normal study in one action (PowerScribe-style macro), the reader checks the
images and changes what differs. Templates never fill what must be asked of this patient on this day
(indication, pregnancy test, consent, …): the safety checks stay the reader's, and the validation rules still
demand them before signing.

* ``NORMAL_HSG`` — the built-in normal findings (cervix, cavity U0, both tubes patent with free spill, no
  intravasation, no complication).
* User templates: ``template_from_report`` captures the findings / technique / complications of the report
  on screen; ``TemplateStore`` keeps them as JSON files (one per template) in the data directory.
* ``UserProfile`` — per-user defaults (name as a DICOM Person Name, catheter, contrast, volume) applied to
  empty fields of every new report; the name is the signing radiologist (``valid_person_name``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hsg_workstation.reporting.drafts import atomic_write_json
from hsg_workstation.reporting.model import HsgReport

NORMAL_HSG_NAME = "Normal HSG"

# Field path → value (enum values as their strings; the model coerces them).
NORMAL_HSG: dict[str, Any] = {
    "findings.cervix.cervical_canal": "normal",
    "findings.cervix.eshre_cervix": "C0",
    "findings.cavity.opacified": "yes",
    "findings.cavity.size": "normal",
    "findings.cavity.shape": "normal_triangular",
    "findings.cavity.eshre_uterus": "U0",
    "findings.cavity.asrm2021_category": "none",
    "findings.adhesions.present": False,
    "findings.tubes.right.status": "present",
    "findings.tubes.right.opacified_to": "fimbrial",
    "findings.tubes.right.patency": "patent",
    "findings.tubes.right.spill": "free",
    "findings.tubes.right.calibre": "normal",
    "findings.tubes.right.hydrosalpinx": False,
    "findings.tubes.left.status": "present",
    "findings.tubes.left.opacified_to": "fimbrial",
    "findings.tubes.left.patency": "patent",
    "findings.tubes.left.spill": "free",
    "findings.tubes.left.calibre": "normal",
    "findings.tubes.left.hydrosalpinx": False,
    "findings.peritoneum.peritoneal_spill_overall": "bilateral_free",
    "findings.peritoneum.spill_assessed_on": "sequence_or_delayed",
    "findings.peritoneum.intravasation": "absent",
    "technique.study_quality": "diagnostic",
    "complications.complications": ["none"],
}

# What a template may carry: findings, technique and complications (never identity, history or safety checks).
_TEMPLATE_SECTIONS = ("findings.", "technique.", "complications.")
_NEVER = ("image_links", "filling_defects", ".id", "note")


@dataclass(frozen=True)
class ReportTemplate:
    name: str
    fields: dict[str, Any]


BUILT_IN = (ReportTemplate(NORMAL_HSG_NAME, NORMAL_HSG),)


class TemplateError(ValueError):
    """A template that cannot be applied / read (names the template and the field)."""


def apply_template(report: HsgReport, template: ReportTemplate) -> list[str]:
    """Set every field of ``template`` on ``report``; returns the paths set. A signed report refuses before
    anything changes (``ReportLockedError``); an unknown field or value names the template and the field, and
    nothing is changed either (all values are checked on a copy first)."""
    report._check_editable(f"the report (template {template.name!r})")
    trial = HsgReport.from_json(report.to_json())
    for path, value in template.fields.items():
        try:
            trial.set_value(path, value)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise TemplateError(f"template {template.name!r}: field {path!r}: {exc}") from exc
    changed: list[str] = []
    for path, value in template.fields.items():
        if report.get_value(path) != trial.get_value(path):
            report.set_value(path, value)
            changed.append(path)
    return changed


def _flatten(prefix: str, data: Any, out: dict[str, Any]) -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            _flatten(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = data


def template_from_report(report: HsgReport, name: str) -> ReportTemplate:
    """The report's recorded findings / technique / complications as a template (filled fields only; no
    image links, defects, notes or identity)."""
    if not name.strip():
        raise TemplateError("a template needs a name")
    flat: dict[str, Any] = {}
    data = report.to_json()
    for section in ("findings", "technique", "complications"):
        _flatten(section, data.get(section, {}), flat)
    fields = {
        p: v
        for p, v in flat.items()
        if p.startswith(_TEMPLATE_SECTIONS)
        and not any(n in p for n in _NEVER)
        and v not in (None, "", [])
        and not p.endswith(".side")
    }
    return ReportTemplate(name.strip(), fields)


def _file_name(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_").lower()
    return (slug or "template") + ".json"


class TemplateStore:
    """User templates as JSON files in ``directory``; the built-in ones come first and cannot be overwritten."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def names(self) -> list[str]:
        return [t.name for t in self.templates()]

    def templates(self) -> list[ReportTemplate]:
        out = list(BUILT_IN)
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("*.json")):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                    out.append(ReportTemplate(str(data["name"]), dict(data["fields"])))
                except (OSError, ValueError, KeyError, TypeError):
                    continue  # a damaged file is skipped, the others stay usable
        return out

    def get(self, name: str) -> ReportTemplate:
        for t in self.templates():
            if t.name == name:
                return t
        raise TemplateError(f"no template named {name!r}")

    def save(self, template: ReportTemplate) -> Path:
        if template.name in {t.name for t in BUILT_IN}:
            raise TemplateError(f"{template.name!r} is a built-in template; choose another name")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / _file_name(template.name)
        atomic_write_json(path, {"name": template.name, "fields": template.fields})
        return path


# --------------------------------------------------------------------------------------------------------------
# The reader's profile: who signs, and the defaults of every new report
# --------------------------------------------------------------------------------------------------------------

_PN_FORBIDDEN = re.compile(r"[\\\x00-\x1f]")


def valid_person_name(name: str) -> str:
    """A DICOM Person Name (PS3.5 6.2 PN) for the signing radiologist, normalised ('Family^Given'), or
    ValueError saying what is wrong. Why: the name goes into the SR's Verifying Observer Name; free text
    typed at each sign ('dr smith', 'x') made reports signed by nobody in particular."""
    text = name.strip()
    if not text:
        raise ValueError("the radiologist's name is empty")
    if _PN_FORBIDDEN.search(text):
        raise ValueError("a person name cannot contain a backslash or control characters")
    if "=" in text:
        raise ValueError("give the alphabetic name only (no '=' ideographic / phonetic groups)")
    if "^" not in text:
        parts = text.split()
        if len(parts) < 2:
            raise ValueError("give family and given name ('Reader^Anna' or 'Anna Reader')")
        text = f"{parts[-1]}^{' '.join(parts[:-1])}"
    components = text.split("^")
    if len(components) > 5:
        raise ValueError("a person name has at most 5 components (family^given^middle^prefix^suffix)")
    if not components[0].strip():
        raise ValueError("the family name is missing")
    if len(text) > 64:
        raise ValueError("a person name is at most 64 characters")
    return "^".join(c.strip() for c in components).rstrip("^")


@dataclass
class UserProfile:
    """The reader's defaults; ``name`` (a valid DICOM PN) is who signs."""

    name: str = ""
    organization: str = ""
    defaults: dict[str, Any] = field(
        default_factory=lambda: {
            "technique.catheter_type": None,
            "technique.contrast_type": None,
            "technique.contrast_product": "",
            "technique.contrast_volume_ml": None,
        }
    )

    @classmethod
    def load(cls, path: Path | str) -> UserProfile:
        p = Path(path)
        if not p.is_file():
            return cls()
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            profile = cls(str(data.get("name", "")), str(data.get("organization", "")))
            profile.defaults.update(dict(data.get("defaults", {})))
            return profile
        except (OSError, ValueError, TypeError) as exc:
            raise TemplateError(f"{p}: the user profile cannot be read ({exc})") from exc

    def save(self, path: Path | str) -> None:
        if self.name:
            self.name = valid_person_name(self.name)
        atomic_write_json(Path(path), asdict(self))

    def apply_to(self, report: HsgReport) -> list[str]:
        """Fill the report's *empty* fields from the defaults (the author's name included); never overwrites."""
        if report.is_signed:
            return []
        changed: list[str] = []
        wanted = dict(self.defaults)
        if self.name:
            wanted["author_name"] = self.name
        for path, value in wanted.items():
            if value in (None, "", []):
                continue
            if report.get_value(path) in (None, "", []):
                report.set_value(path, value)
                changed.append(path)
        return changed


__all__ = [
    "BUILT_IN",
    "NORMAL_HSG",
    "NORMAL_HSG_NAME",
    "ReportTemplate",
    "TemplateError",
    "TemplateStore",
    "UserProfile",
    "apply_template",
    "template_from_report",
    "valid_person_name",
]
