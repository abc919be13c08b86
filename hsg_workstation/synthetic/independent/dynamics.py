"""Frame timing and contrast dynamics over physical time.

Time ``t`` is in seconds, 0 = the moment contrast leaves the catheter tip into the cervical canal. Each frame k
has an acquisition time ``acq[k]``; a last-image-hold duplicate has the acquisition time of the frame it copies
(its pixels are that frame's), while its Frame Time Vector entry is the nominal frame interval.

Event times are drawn as fractions of the loop's span so that every loop, 4 s at 15 frames/s or 4 min at
0.5 frames/s, shows its events inside the loop (an injection is paced to what the operator records).

Quantities (all volumes in mm^3 of full-strength contrast):
- cavity fill front ``cavity_front(t)`` in [0, 1]: fraction of the fill-order distance reached;
- tube fill front ``tube_front(side, t)``: arc length (mm) from the cornu reached by the iodine column;
- spill volume ``spill_volume(side, t)``: contrast that has left the fimbrial end;
- hydrosalpinx sac concentration ``sac_concentration(side, t)`` (diluted, 0..~0.5) and sac front;
- venous intravasation ``venous_level(t)`` (concentration 0..1) and ``venous_progress(t)`` (0..1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FPS_BINS = {"0.5-2": (0.5, 2.0), "2-6": (2.0, 6.0), "6-15": (6.0, 15.0)}
FRAME_BINS = {"30-60": (30, 60), "60-90": (60, 90), "90-120": (90, 120)}


@dataclass
class Timing:
    acq: np.ndarray  # (n,) physical time of each frame's content, s
    ftv_ms: np.ndarray  # (n,) Frame Time Vector increments, ms (first 0)
    source: np.ndarray  # (n,) index of the frame whose pixels a frame shows (itself unless a duplicate)
    fps: float
    run_starts: list[int]  # 0-based first frame of each run

    @property
    def n(self) -> int:
        return len(self.acq)


def draw_timing(axes: dict, rng: np.random.Generator, frames: int | None = None) -> Timing:
    lo, hi = FRAME_BINS[axes["frame_count"]]
    n = int(rng.integers(lo, hi + 1))
    if frames is not None:  # an exact count (benchmarks); the bin draw above keeps the stream aligned
        n = int(frames)
    flo, fhi = FPS_BINS[axes["frame_rate"]]
    fps = float(np.exp(rng.uniform(np.log(flo), np.log(fhi))))
    fps = round(fps, 2)
    dt = 1.0 / fps
    n_runs = 1 if axes["runs"] == "single" else int(rng.integers(2, 5))
    n_runs = min(n_runs, max(1, 1 + (n - 11) // 6))  # every run >= 6 frames
    # run boundaries: each run >= 6 frames
    # cut points at least 6 frames from each other and from the ends: the slack beyond the minimum spacing is
    # shared out at random (always feasible, no rejection loop that could dead-end)
    k = n_runs - 1
    slack = (n - 6) - 6 - 6 * max(k - 1, 0)
    extra = np.sort(rng.integers(0, max(slack, 0) + 1, size=k)) if k else np.zeros(0, dtype=int)
    cuts = [int(6 + 6 * i + e) for i, e in enumerate(extra)]
    run_starts = [0, *cuts]
    dup = np.zeros(n, dtype=bool)
    if axes["last_image_hold"] == "duplicates":
        ends = [*(c - 1 for c in cuts), n - 1]
        for e in ends:
            k = int(rng.integers(1, 4))
            dup[max(e - k + 1, 1) : e + 1] = True
    acq = np.zeros(n)
    ftv = np.full(n, dt * 1000.0)
    ftv[0] = 0.0
    source = np.arange(n)
    t = 0.0
    for k in range(1, n):
        gap = 0.0
        if k in run_starts:
            gap = float(rng.uniform(2.0, 12.0)) * max(1.0, dt)
            ftv[k] = round((gap + dt) * 1000.0, 1)
        if dup[k]:
            source[k] = source[k - 1]
            acq[k] = acq[k - 1]
            t += dt + gap
        else:
            t += dt + gap
            acq[k] = t
    ftv = np.round(ftv, 1)
    return Timing(acq=acq, ftv_ms=ftv, source=source, fps=fps, run_starts=run_starts)


def _ease(x: np.ndarray | float) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return 1.0 - (1.0 - x) ** 1.6


@dataclass
class Dynamics:
    t_cavity0: float  # cavity fill starts (front leaves the internal os)
    t_cavity1: float  # cavity fully distended
    catheter_t0: float  # contrast enters the catheter segment in the field
    cervix_t: float  # contrast reaches the internal os
    tube_t0: dict[str, float] = field(default_factory=dict)
    tube_dur: dict[str, float] = field(default_factory=dict)  # time to fill the whole tube (or to the sac)
    tube_stop: dict[str, float] = field(default_factory=dict)  # arc length where the column stops
    tube_len: dict[str, float] = field(default_factory=dict)
    spill_t0: dict[str, float] = field(default_factory=dict)
    spill_rate: dict[str, float] = field(default_factory=dict)  # mm^3/s
    spill_cap: dict[str, float] = field(default_factory=dict)  # loculated pocket capacity, mm^3
    sac: dict[str, tuple[float, float, float]] = field(default_factory=dict)  # (t_enter, s_start, fill_time)
    venous: tuple[float, float, float, float] | None = None  # (t0, rise, plateau, washout tau)
    time_offset: float = 0.0  # add to an acquisition time to get t (relative to the injection start)

    def cavity_front(self, t: np.ndarray | float) -> np.ndarray:
        return _ease((np.asarray(t) - self.t_cavity0) / (self.t_cavity1 - self.t_cavity0))

    def canal_front(self, t: np.ndarray | float) -> np.ndarray:
        """Fraction of the cervical canal filled (from the catheter tip up to the internal os)."""
        return np.clip((np.asarray(t) - 0.0) / max(self.cervix_t, 1e-6), 0.0, 1.0)

    def catheter_front(self, t: np.ndarray | float) -> np.ndarray:
        """Fraction of the visible catheter filled (from the bottom of the field to the tip); full at t = 0."""
        return np.clip((np.asarray(t) - self.catheter_t0) / max(-self.catheter_t0, 1e-6), 0.0, 1.0)

    def tube_front(self, side: str, t: np.ndarray | float) -> np.ndarray:
        if side not in self.tube_t0:
            return np.zeros_like(np.asarray(t, dtype=float))
        x = (np.asarray(t) - self.tube_t0[side]) / self.tube_dur[side]
        # a short isthmic hesitation then a steady advance
        front = np.clip(x, 0.0, 1.0) ** 1.15 * self.tube_len[side]
        return np.minimum(front, self.tube_stop[side])

    def spill_volume(self, side: str, t: np.ndarray | float) -> np.ndarray:
        if side not in self.spill_t0:
            return np.zeros_like(np.asarray(t, dtype=float))
        v = np.clip(np.asarray(t) - self.spill_t0[side], 0.0, None) * self.spill_rate[side]
        cap = self.spill_cap.get(side)
        return np.minimum(v, cap) if cap is not None else v

    def sac_state(self, side: str, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(front as a fraction of the sac length, concentration) of a hydrosalpinx sac."""
        if side not in self.sac:
            z = np.zeros_like(np.asarray(t, dtype=float))
            return z, z
        t_in, _s0, fill = self.sac[side]
        x = np.clip((np.asarray(t) - t_in) / fill, 0.0, 1.0)
        return x**0.7, 0.08 + 0.27 * x

    def venous_level(self, t: np.ndarray | float) -> np.ndarray:
        if self.venous is None:
            return np.zeros_like(np.asarray(t, dtype=float))
        t0, rise, plateau, tau = self.venous
        t = np.asarray(t, dtype=float)
        up = np.clip((t - t0) / rise, 0.0, 1.0)
        down = np.exp(-np.clip(t - (t0 + rise + plateau), 0.0, None) / tau)
        return up * down

    def venous_progress(self, t: np.ndarray | float) -> np.ndarray:
        if self.venous is None:
            return np.zeros_like(np.asarray(t, dtype=float))
        t0, rise, _p, _tau = self.venous
        return np.clip((np.asarray(t) - t0) / (1.6 * rise), 0.0, 1.0)


SPILL_ONSET_MM3 = 4.0  # spill onset: extratubal contrast >= 4 mm^3 of full-strength contrast
TUBE_FILL_MM = 3.0  # first tubal filling: the column reaches >= 3 mm beyond the cornu


def draw_dynamics(
    axes: dict,
    timing: Timing,
    tubes: dict,
    pocket_capacity: dict[str, float],
    rng: np.random.Generator,
) -> Dynamics:
    """Event times for one loop (see the module docstring); ``tubes`` maps side -> anatomy.Tube.

    Events are placed at fractions ``u`` of the loop's FRAMES (T(u) interpolates the acquisition times over the
    frame index), so they land inside runs rather than in the gaps between them; durations are differences of
    T, so a process that straddles a gap takes the gap's time (it goes on while the fluoroscopy is off).
    """
    acq = timing.acq
    n = timing.n
    idx = np.arange(n, dtype=float)
    span = float(acq[-1] - acq[0])
    min_dt = 0.5 / timing.fps

    def T(u: float) -> float:
        return float(np.interp(float(np.clip(u, 0.0, 1.0)) * (n - 1), idx, acq))

    def D(u0: float, du: float) -> float:
        return max(T(u0 + du) - T(u0), min_dt)

    u3 = 2.0 / max(n - 1, 1)  # events start no earlier than the 3rd frame
    start = axes["loop_start"]
    du_c = rng.uniform(0.15, 0.3)
    if start == "before_injection":
        u_cath = max(rng.uniform(0.03, 0.08), u3)
        u_inj = u_cath + rng.uniform(0.02, 0.04)
        u_c0 = u_inj + rng.uniform(0.02, 0.04)
        t_cath, t_inj, t_c0, t_c1 = T(u_cath), T(u_inj), T(u_c0), T(u_c0 + du_c)
        cervix = t_c0
    elif start == "catheter_filled":
        u_inj = max(rng.uniform(0.03, 0.08), u3)
        u_c0 = u_inj + rng.uniform(0.02, 0.04)
        t_inj, t_c0, t_c1 = T(u_inj), T(u_c0), T(u_c0 + du_c)
        cervix = t_c0
    elif start == "catheter_and_cervix":
        u_c0 = max(rng.uniform(0.02, 0.06), u3)
        t_c0, t_c1 = T(u_c0), T(u_c0 + du_c)
        t_inj, cervix = acq[0] - 0.2 * span, acq[0] - 1e-3 * span
    else:  # mid_fill: the cavity is 20-50 % filled on frame 1
        x = rng.uniform(0.12, 0.3)  # fraction of the fill time already past on frame 1
        t_c1 = T(du_c * (1 - x))
        t_c0 = acq[0] - x / (1 - x) * (t_c1 - acq[0])
        t_inj = t_c0 - 0.1 * span
        cervix = t_c0
    if t_c1 <= t_c0:
        t_c1 = t_c0 + min_dt
    # the catheter is full at t = 0 (contrast reaches its tip); primed long before the loop unless the loop
    # starts before the injection
    cath_rel = (t_cath - t_inj) if start == "before_injection" else -1e9
    rel = -t_inj  # from here on, times are relative to the injection start (t = acq + rel)
    dyn = Dynamics(
        t_cavity0=t_c0 + rel,
        t_cavity1=t_c1 + rel,
        catheter_t0=cath_rel,
        cervix_t=cervix + rel,
        time_offset=rel,
    )
    u_c1 = float(np.interp(t_c1, acq, idx)) / max(n - 1, 1)
    last = float(acq[-1]) + rel
    for side, tube in tubes.items():
        kind = tube.kind
        L = tube.length
        u0 = max(u_c1 + rng.uniform(-0.08, 0.2), u3 + 0.02)
        du = rng.uniform(0.06, 0.2)
        if kind in ("patent_free", "loculated") and u0 + du > 0.8:
            # spill must begin inside the loop (by 80 % of its frames) so that the class can be seen
            u0 = max(min(u0, 0.8 - 0.04), u3 + 0.01)
            du = max(0.8 - u0, 0.03)
        t0 = T(u0) + rel
        dur = D(u0, du)
        dyn.tube_t0[side] = t0
        dyn.tube_dur[side] = dur
        dyn.tube_len[side] = L
        if kind == "proximal_occlusion":
            dyn.tube_stop[side] = float(rng.uniform(0.0, 1.5))
        elif kind == "hydrosalpinx":
            s0 = float(tube.sac_start)
            dyn.tube_stop[side] = s0
            t_in = t0 + dur * (s0 / L) ** (1 / 1.15)
            dyn.sac[side] = (t_in, s0, max(last - t_in, 0.1 * span) * rng.uniform(0.6, 1.3))
        else:
            dyn.tube_stop[side] = L
        if kind in ("patent_free", "loculated"):
            dyn.spill_t0[side] = t0 + dur
            remaining = max(last - (t0 + dur), D(0.8, 0.2))
            if kind == "loculated":
                cap = pocket_capacity[side]
                dyn.spill_cap[side] = cap
                dyn.spill_rate[side] = cap / (remaining * rng.uniform(0.25, 0.6))
            else:
                # a few ml of the 5-20 ml injected leave each patent tube
                total = (
                    rng.uniform(3000, 7000) if axes["spill_visibility"] == "dense" else rng.uniform(600, 1500)
                )
                dyn.spill_rate[side] = total / remaining
    if axes["intravasation"] == "present":
        uv = float(np.clip(u_c1 + rng.uniform(-0.05, 0.25), u3 + 0.02, 0.7))
        ur = rng.uniform(0.03, 0.08)
        up = rng.uniform(0.03, 0.15)
        dyn.venous = (T(uv) + rel, D(uv, ur), D(uv + ur, up), D(uv + ur + up, rng.uniform(0.02, 0.05)))
    return dyn
