"""American Fertility Society 1988 intrauterine adhesion score (Fertil Steril 1988;49:944-55).

Points: extent of cavity involved <1/3 = 1, 1/3-2/3 = 2, >2/3 = 4; type of adhesions filmy = 1, filmy and
dense = 2, dense = 4; menstrual pattern normal = 0, hypomenorrhoea = 2, amenorrhoea = 4. Stage I (mild) 1-4,
II (moderate) 5-8, III (severe) 9-12. HSG often cannot tell filmy from dense; then no score is computed (the
form asks for hysteroscopy rather than inventing a type).
"""

from __future__ import annotations

from hsg_workstation.reporting.enums import AfsAdhesionType, AfsExtent, AfsMenstrualPattern, AfsStage

EXTENT_POINTS = {"<1/3": 1, "1/3-2/3": 2, ">2/3": 4}
TYPE_POINTS = {"filmy": 1, "filmy+dense": 2, "dense": 4}
MENSTRUAL_POINTS = {"normal": 0, "hypomenorrhoea": 2, "amenorrhoea": 4}


def afs_stage_for_score(score: int) -> AfsStage:
    if not 1 <= score <= 12:
        raise ValueError(f"AFS 1988 score {score} is outside 1..12")
    if score <= 4:
        return AfsStage.I_MILD
    if score <= 8:
        return AfsStage.II_MODERATE
    return AfsStage.III_SEVERE


def afs_score_and_stage(
    extent: AfsExtent | None, adhesion_type: AfsAdhesionType | None, menstrual: AfsMenstrualPattern | None
) -> tuple[int | None, AfsStage | None]:
    """(score, stage), or (None, None) when a component is missing or the type is not assessable on HSG."""
    if extent is None or adhesion_type is None or menstrual is None:
        return None, None
    if adhesion_type.value not in TYPE_POINTS:
        return None, None
    score = EXTENT_POINTS[extent.value] + TYPE_POINTS[adhesion_type.value] + MENSTRUAL_POINTS[menstrual.value]
    return score, afs_stage_for_score(score)
