"""Which ESHRE/ESGE 2013 uterine classes an HSG report can support — one rule for the form, the rules, the model.

Why a rule and not only wording (issue 11): ESHRE/ESGE separates septate (U2) from bicorporeal (U3) by the
*external* fundal contour, and U0 / U1c / U2 by the internal indentation relative to the wall thickness — HSG
shows neither the serosal contour nor the wall (spec §1.5: "HSG cannot see the serosal contour"; §3: "never state
a U2-vs-U3 diagnosis from HSG alone"). So, while ``external_contour_source`` is ``not_assessed``:

* U2a–U3c are never supported;
* an indented cavity (fundal indentation, two hemicavities) has exactly one supportable class, "not assessable on
  HSG" (enum value ``indeterminate_on_HSG``, kept for the reports already written), and the model sets it when
  the reader records such a shape or removes the contour source;
* the other shapes keep the cavity-defined classes (U0 for a normal triangular cavity, U1a T-shaped, U4 / U5 …).

Once a contour source is recorded, every class but "not assessable on HSG" is supported (the contour decides).
The form offers only supported classes (``form_spec`` ``offered``), rule V14 makes any other value an error, the
impression says "not assessable" only when the form records it.
"""

from __future__ import annotations

from hsg_workstation.reporting.enums import CavityShape, EshreUterus, ExternalContourSource
from hsg_workstation.reporting.sections import UterineCavity

NOT_ASSESSABLE = EshreUterus.INDETERMINATE_ON_HSG
NEEDS_EXTERNAL_CONTOUR = frozenset(
    {EshreUterus.U2A, EshreUterus.U2B, EshreUterus.U3A, EshreUterus.U3B, EshreUterus.U3C}
)
INDENTED_SHAPES = frozenset({CavityShape.FUNDAL_INDENTATION, CavityShape.TWO_HEMICAVITIES})


def contour_assessed(cavity: UterineCavity) -> bool:
    return cavity.external_contour_source is not ExternalContourSource.NOT_ASSESSED


def supported_classes(cavity: UterineCavity) -> frozenset[EshreUterus]:
    """The ESHRE/ESGE uterine classes this cavity's recorded findings can support (see the module docstring)."""
    if contour_assessed(cavity):
        return frozenset(EshreUterus) - {NOT_ASSESSABLE}
    if cavity.shape in INDENTED_SHAPES:
        return frozenset({NOT_ASSESSABLE})
    return frozenset(EshreUterus) - NEEDS_EXTERNAL_CONTOUR


def forced_class(cavity: UterineCavity) -> EshreUterus | None:
    """The class when the findings leave only one (an indented cavity on HSG alone), else None."""
    supported = supported_classes(cavity)
    return next(iter(supported)) if len(supported) == 1 else None


def unsupported_reason(cavity: UterineCavity) -> str | None:
    """Why the recorded class cannot stand, in the reader's words; None when it can (or none is recorded)."""
    value = cavity.eshre_uterus
    if value is None or value in supported_classes(cavity):
        return None
    if value is NOT_ASSESSABLE:
        return (
            "the external contour was assessed: choose the ESHRE/ESGE class it shows "
            "('not assessable on HSG' applies to HSG alone)"
        )
    if value in NEEDS_EXTERNAL_CONTOUR:
        return (
            f"ESHRE/ESGE {value.value} (septate / bicorporeal) needs the external contour: record where it was "
            "assessed (ultrasound, MRI, laparoscopy) or the class is 'not assessable on HSG'"
        )
    return (
        f"an indented cavity on HSG alone cannot be classed {value.value} (the wall thickness and external "
        "contour decide): the class is 'not assessable on HSG', or record where the contour was assessed"
    )
