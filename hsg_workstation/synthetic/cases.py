"""What each synthetic HSG case *is*: cavity class, per-side tubal findings, defects, intravasation.

Kept apart from the drawing code so the list of cases (a public contract: the names are used by the analysis,
viewer, PACS and report helpers) and their clinical meaning can be read at a glance. Sides are always the
PATIENT's sides; whether the image is mirrored is a separate, per-case display decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CASES: tuple[str, ...] = (
    "normal",
    "unilateral_proximal_occlusion",
    "bilateral_distal_hydrosalpinx",
    "endometrial_polyp",
    "submucous_myoma",
    "intrauterine_adhesions",
    "two_hemicavities",
    "unicornuate",
    "t_shaped",
    "venous_intravasation",
    "loculated_spill",
)

SIDES: tuple[str, str] = ("right", "left")

# Default presentation choices per case (each can be overridden by generate_case's arguments). Chosen so that
# the committed samples cover flipped and unflipped images, MONOCHROME1 and MONOCHROME2 spots, and both
# Frame Time and Frame Time Vector timing.
FLIPPED_BY_DEFAULT = frozenset(
    {"unilateral_proximal_occlusion", "submucous_myoma", "unicornuate", "loculated_spill"}
)
MONOCHROME1_SPOTS_BY_DEFAULT = frozenset(
    {
        "unilateral_proximal_occlusion",
        "bilateral_distal_hydrosalpinx",
        "intrauterine_adhesions",
        "unicornuate",
        "venous_intravasation",
    }
)
VARIABLE_FRAME_TIME_BY_DEFAULT = frozenset(
    {"bilateral_distal_hydrosalpinx", "two_hemicavities", "venous_intravasation", "loculated_spill"}
)


@dataclass(frozen=True, slots=True)
class SideFinding:
    """Ground truth of one tube. ``tube_present`` is False only for the missing horn of a unicornuate uterus."""

    tube_present: bool = True
    occlusion_level: str | None = None  # proximal / isthmic / ampullary / distal
    spill: str = "free"  # free / loculated / none
    hydrosalpinx: bool = False

    @property
    def patency(self) -> str:
        if not self.tube_present:
            return "not_assessable"
        return "occluded" if self.occlusion_level else "patent"


@dataclass(frozen=True, slots=True)
class CaseSpec:
    name: str
    cavity_class: str  # normal / two_hemicavities / unicornuate / t_shaped
    sides: dict[str, SideFinding]
    defects: tuple[str, ...] = ()  # polyp / submucous_myoma / adhesion
    intravasation: bool = False
    notes: str = ""
    extra: dict = field(default_factory=dict)


PATENT = SideFinding()


def case_spec(name: str, affected_side: str) -> CaseSpec:
    """The clinical content of a case. ``affected_side`` (patient side, drawn from the seed) picks which side a
    unilateral finding is on, so the analysis cannot assume it is always the same one."""
    other = "left" if affected_side == "right" else "right"
    both = {"right": PATENT, "left": PATENT}
    if name == "normal":
        return CaseSpec(name, "normal", both, notes="Normal cavity, bilateral free spill.")
    if name == "unilateral_proximal_occlusion":
        sides = {affected_side: SideFinding(occlusion_level="proximal", spill="none"), other: PATENT}
        return CaseSpec(name, "normal", sides, notes="One tube does not fill beyond the cornu.")
    if name == "bilateral_distal_hydrosalpinx":
        hydro = SideFinding(occlusion_level="distal", spill="none", hydrosalpinx=True)
        return CaseSpec(
            name, "normal", {"right": hydro, "left": hydro}, notes="Both ampullae dilated, no spill."
        )
    if name == "endometrial_polyp":
        return CaseSpec(name, "normal", both, defects=("polyp",), notes="Small smooth filling defect.")
    if name == "submucous_myoma":
        return CaseSpec(
            name, "normal", both, defects=("submucous_myoma",), notes="Large defect deforming the contour."
        )
    if name == "intrauterine_adhesions":
        return CaseSpec(
            name, "normal", both, defects=("adhesion",), notes="Irregular angular filling defects."
        )
    if name == "two_hemicavities":
        return CaseSpec(name, "two_hemicavities", both, notes="Septate / bicornuate pattern: two horns.")
    if name == "unicornuate":
        sides = {affected_side: PATENT, other: SideFinding(tube_present=False, spill="none")}
        return CaseSpec(name, "unicornuate", sides, notes="Single banana-shaped horn with one tube.")
    if name == "t_shaped":
        return CaseSpec(name, "t_shaped", both, notes="Narrow T-shaped cavity with constrictions.")
    if name == "venous_intravasation":
        return CaseSpec(
            name, "normal", both, intravasation=True, notes="Contrast enters myometrial/pelvic veins."
        )
    if name == "loculated_spill":
        sides = {affected_side: SideFinding(spill="loculated"), other: PATENT}
        return CaseSpec(name, "normal", sides, notes="Peritubal loculated collection on one side.")
    raise ValueError(f"unknown sample case {name!r}; known cases: {', '.join(CASES)}")
