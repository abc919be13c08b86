"""Values computed from the report's answers (cycle day, overall peritoneal spill) — pure functions.

Why apart from ``HsgReport``: the rules, the impression and the form use them without needing the aggregate.
"""

from __future__ import annotations

import datetime as _dt

from hsg_workstation.reporting.enums import PeritonealSpill, Spill, TubeStatus
from hsg_workstation.reporting.sections import Tube


def compute_cycle_day(lmp: _dt.date | None, exam: _dt.date | None) -> int | None:
    """Cycle day on the exam date; day 1 = first day of the last menstrual period."""
    if lmp is None or exam is None:
        return None
    return (exam - lmp).days + 1


def derive_peritoneal_spill(left: Tube, right: Tube) -> PeritonealSpill | None:
    """Overall peritoneal spill from the two sides (spec §1.9): None when a side is not filled in yet.

    'free' counts delayed spill too (contrast reached the peritoneum). A surgically absent tube counts as no spill.
    """

    def spill_of(t: Tube) -> Spill | None:
        if t.status is TubeStatus.SURGICALLY_ABSENT and t.spill is None:
            return Spill.NONE
        return t.spill

    sl, sr = spill_of(left), spill_of(right)
    if sl is None or sr is None:
        return None
    free = {Spill.FREE, Spill.DELAYED}
    fl, fr = sl in free, sr in free
    if fl and fr:
        return PeritonealSpill.BILATERAL_FREE
    if fl:
        return PeritonealSpill.UNILATERAL_FREE_L
    if fr:
        return PeritonealSpill.UNILATERAL_FREE_R
    if Spill.LOCULATED in (sl, sr):
        return PeritonealSpill.LOCULATED_ONLY
    if Spill.INDETERMINATE in (sl, sr):
        return PeritonealSpill.INDETERMINATE
    return PeritonealSpill.NONE
