"""Schematic of uterus and tubes drawn from the findings (QPainter → QImage), for the PDF report.

Why a drawing and not a template image: the referring clinician reads the picture first; it must show *this*
patient's result — which side is occluded and where, where contrast spilled, hydrosalpinx, filling defects.

Layout is the radiographic AP view: the patient's RIGHT is on the viewer's LEFT, labelled on the image.
Qt is imported inside :func:`draw_schematic` (only ``reporting/pdf.py`` may import Qt at module level).
"""

from __future__ import annotations

import math
import random
from typing import Any

from hsg_workstation.reporting.model import (
    CavityShape,
    DefectLocation,
    HsgReport,
    OcclusionLevel,
    OpacifiedTo,
    Patency,
    Side,
    Spill,
    Tube,
    TubeStatus,
)

WIDTH, HEIGHT = 640, 400

#: How far along the tube (0 = cornu, 1 = fimbria) each landmark sits.
_OPACIFIED_T = {
    OpacifiedTo.NONE: 0.0,
    OpacifiedTo.INTERSTITIAL: 0.12,
    OpacifiedTo.ISTHMIC: 0.4,
    OpacifiedTo.AMPULLARY: 0.78,
    OpacifiedTo.FIMBRIAL: 1.0,
}
_OCCLUSION_T = {
    OcclusionLevel.PROXIMAL: 0.06,
    OcclusionLevel.ISTHMIC: 0.4,
    OcclusionLevel.AMPULLARY: 0.75,
    OcclusionLevel.DISTAL: 0.97,
}
# Defect positions relative to the cavity centre, in units of the cavity half-width (x: viewer's right = +).
_DEFECT_POS = {
    DefectLocation.FUNDUS: (0.0, -0.75),
    DefectLocation.BODY_ANTERIOR: (-0.15, -0.25),
    DefectLocation.BODY_POSTERIOR: (0.15, -0.25),
    DefectLocation.BODY_NS: (0.0, -0.3),
    DefectLocation.LUS: (0.0, 0.25),
    DefectLocation.CORNU_L: (0.62, -0.8),  # patient's left = viewer's right
    DefectLocation.CORNU_R: (-0.62, -0.8),
    DefectLocation.CERVICAL_CANAL: (0.0, 0.62),
}


def tube_extent(tube: Tube) -> tuple[float, float | None]:
    """(how far contrast filled the tube 0..1, occlusion position or None) from the tube's findings."""
    if tube.status is TubeStatus.SURGICALLY_ABSENT:
        return 0.0, None
    filled = _OPACIFIED_T.get(tube.opacified_to, 1.0 if tube.patency is Patency.PATENT else 0.0)
    occlusion = None
    if tube.patency is Patency.OCCLUDED:
        occlusion = _OCCLUSION_T.get(tube.occlusion_level, filled if filled else 0.06)
        filled = min(filled, occlusion) if tube.opacified_to is not None else occlusion
        if tube.occlusion_level is OcclusionLevel.DISTAL and tube.opacified_to is OpacifiedTo.AMPULLARY:
            filled = occlusion  # the ampulla is the last segment: contrast reaches the blocked fimbrial end
    return filled, occlusion


def _bezier(p0, p1, p2, p3, t: float) -> tuple[float, float]:
    u = 1 - t
    x = u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0]
    y = u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1]
    return x, y


def _hemicavity_sign(report: HsgReport) -> int:
    """Viewer-side of a unicornuate hemicavity: towards the tube that filled (-1 = patient's right, drawn on the
    viewer's left); the patient's right when neither or both filled."""
    tubes = report.findings.tubes
    right = tubes.right.opacified_to not in (None, OpacifiedTo.NONE)
    left = tubes.left.opacified_to not in (None, OpacifiedTo.NONE)
    return +1 if left and not right else -1


def _hemicavity_path(
    path_cls: Any, point_cls: Any, cx: float, top: float, bottom: float, half: float, sign: int
):
    """A fusiform (banana) cavity from the cervix up to one cornu: the unicornuate / single-horn picture."""
    c0, c1, c2 = (cx, bottom), (cx + sign * half * 0.15, top + 55), (cx + sign * half, top)
    n = 24
    centre, normal = [], []
    for i in range(n + 1):
        t = i / n
        x = (1 - t) ** 2 * c0[0] + 2 * (1 - t) * t * c1[0] + t * t * c2[0]
        y = (1 - t) ** 2 * c0[1] + 2 * (1 - t) * t * c1[1] + t * t * c2[1]
        dx = 2 * (1 - t) * (c1[0] - c0[0]) + 2 * t * (c2[0] - c1[0])
        dy = 2 * (1 - t) * (c1[1] - c0[1]) + 2 * t * (c2[1] - c1[1])
        length = math.hypot(dx, dy) or 1.0
        centre.append((x, y))
        normal.append((-dy / length, dx / length))
    width = [9.0 + 13.0 * math.sin(math.pi * min(1.0, i / n * 1.15)) for i in range(n + 1)]
    width[-1] = 3.0  # tapering to the cornu
    side_a = [(x + nx * w, y + ny * w) for (x, y), (nx, ny), w in zip(centre, normal, width, strict=True)]
    side_b = [(x - nx * w, y - ny * w) for (x, y), (nx, ny), w in zip(centre, normal, width, strict=True)]
    outline = side_a + side_b[::-1]
    path = path_cls(point_cls(*outline[0]))
    for x, y in outline[1:]:
        path.lineTo(point_cls(x, y))
    path.closeSubpath()
    return path


def draw_schematic(report: HsgReport, width: int = WIDTH, height: int = HEIGHT) -> Any:
    """A QImage (ARGB32) of the uterus, cervix and both tubes as reported. Needs a Qt GUI application."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPainterPath, QPen

    img = QImage(width, height, QImage.Format.Format_ARGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    sx, sy = width / WIDTH, height / HEIGHT
    p.scale(sx, sy)

    contrast = QColor(40, 40, 40)
    outline = QColor(150, 150, 150)
    red = QColor(200, 30, 30)
    cx, top, bottom, half = WIDTH / 2, 110.0, 250.0, 95.0
    cavity = report.findings.cavity

    # Uterine cavity (inverted triangle with curved sides; fundal dip for indentation / two hemicavities).
    path = QPainterPath(QPointF(cx - half, top))
    dip = 0.0
    if cavity.shape is CavityShape.FUNDAL_INDENTATION:
        dip = 18.0
    elif cavity.shape is CavityShape.TWO_HEMICAVITIES:
        dip = 70.0
    if cavity.shape is CavityShape.SINGLE_HEMICAVITY_FUSIFORM:
        path = _hemicavity_path(QPainterPath, QPointF, cx, top, bottom, half, _hemicavity_sign(report))
    elif cavity.shape is CavityShape.T_SHAPED_NARROW:
        path = QPainterPath(QPointF(cx - half, top))
        for x, y in ((cx + half, top), (cx + half, top + 16), (cx + 22, top + 34), (cx + 12, bottom),
                     (cx - 12, bottom), (cx - 22, top + 34), (cx - half, top + 16)):  # fmt: skip
            path.lineTo(QPointF(x, y))
        path.closeSubpath()
    else:
        path.quadTo(QPointF(cx - half / 2, top + 8 - dip * 0.1), QPointF(cx, top + dip))
        path.quadTo(QPointF(cx + half / 2, top + 8 - dip * 0.1), QPointF(cx + half, top))
        path.quadTo(QPointF(cx + half * 0.55, bottom - 60), QPointF(cx + 14, bottom))
        path.lineTo(QPointF(cx - 14, bottom))
        path.quadTo(QPointF(cx - half * 0.55, bottom - 60), QPointF(cx - half, top))
    opacified = cavity.opacified is None or cavity.opacified.value != "no"
    p.setPen(QPen(contrast if opacified else outline, 2))
    p.setBrush(QBrush(QColor(90, 90, 90) if opacified else QColor(235, 235, 235)))
    p.drawPath(path)

    # Cervical canal and catheter.
    p.setBrush(QBrush(QColor(90, 90, 90)))
    p.drawRect(QRectF(cx - 8, bottom, 16, 70))
    p.setPen(QPen(QColor(120, 120, 220), 3))
    p.drawLine(QPointF(cx, bottom + 30), QPointF(cx, height / sy))

    # Filling defects (white, size roughly to scale: cavity half-width ≈ 35 mm).
    mm = half / 35.0
    p.setPen(QPen(QColor(255, 255, 255), 1))
    p.setBrush(QBrush(QColor(245, 245, 245)))
    for i, d in enumerate(report.findings.filling_defects):
        dx, dy = _DEFECT_POS.get(d.location, (0.0, -0.3))
        r = max(3.0, (d.size_mm or 5.0) * mm / 2)
        x = cx + dx * half + (i % 3 - 1) * 6 * (d.location is None)
        y = (top + bottom) / 2 + dy * (bottom - top) / 2 + 10
        for k in range(max(1, min(int(d.count or 1), 5))):
            p.drawEllipse(QPointF(x + k * (2 * r + 3), y), r, r)

    # Tubes: patient's right on the viewer's left.
    rng = random.Random(7)  # deterministic spill dots
    for tube, sign in ((report.findings.tubes.right, -1), (report.findings.tubes.left, +1)):
        p0 = (cx + sign * half, top)
        p1 = (cx + sign * (half + 70), top - 40)
        p2 = (cx + sign * (half + 170), top - 50)
        p3 = (cx + sign * (half + 175), top + 60)
        if tube.status is TubeStatus.SURGICALLY_ABSENT:
            p.setPen(QPen(outline, 1, Qt.PenStyle.DotLine))
            label = QPointF(cx + sign * (half + 120) - 40, top - 30)
            p.drawText(label, "tube absent")
            continue
        filled, occlusion = tube_extent(tube)
        steps = 60
        pts = [_bezier(p0, p1, p2, p3, i / steps) for i in range(steps + 1)]
        # Unfilled course (faint, dotted) so the reader sees where the tube would be.
        p.setPen(QPen(outline, 2, Qt.PenStyle.DotLine))
        for a, b in zip(pts, pts[1:], strict=False):
            p.drawLine(QPointF(*a), QPointF(*b))
        # Filled course.
        n_filled = int(round(filled * steps))
        for i, (a, b) in enumerate(zip(pts[:n_filled], pts[1 : n_filled + 1], strict=False)):
            t = i / steps
            w = 3.0 + (6.0 if t > 0.5 else 0.0) * min(1.0, (t - 0.5) * 4) if t > 0.5 else 3.0
            if tube.hydrosalpinx and t > 0.55:
                w = 16.0 + 8.0 * math.sin(min(1.0, (t - 0.55) / 0.45) * math.pi)
            p.setPen(QPen(contrast, w, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            p.drawLine(QPointF(*a), QPointF(*b))
        if occlusion is not None:
            ox, oy = _bezier(p0, p1, p2, p3, occlusion)
            p.setPen(QPen(red, 4))
            p.drawLine(QPointF(ox - 9, oy - 9), QPointF(ox + 9, oy + 9))
            p.drawLine(QPointF(ox - 9, oy + 9), QPointF(ox + 9, oy - 9))
        # Spill at the fimbrial end.
        fx, fy = p3
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(70, 70, 70)))
        if tube.spill in (Spill.FREE, Spill.DELAYED):
            count = 60 if tube.spill is Spill.FREE else 25
            for _ in range(count):
                ang, rad = rng.uniform(0, 2 * math.pi), rng.uniform(8, 55)
                p.drawEllipse(
                    QPointF(fx + rad * math.cos(ang), fy + 25 + rad * math.sin(ang) * 0.8), 2.2, 2.2
                )
        elif tube.spill is Spill.LOCULATED:
            p.setBrush(QBrush(QColor(70, 70, 70, 170)))
            p.drawEllipse(QPointF(fx, fy + 18), 20, 15)
        side_name = "RIGHT" if tube.side is Side.RIGHT else "LEFT"
        p.setPen(QPen(QColor(0, 0, 0)))
        p.setFont(QFont("DejaVu Sans", 13, QFont.Weight.Bold))
        p.drawText(QPointF(cx + sign * (half + 130) - 40, 28), f"Patient {side_name}")

    # Legend.
    p.setFont(QFont("DejaVu Sans", 10))
    p.setPen(QPen(QColor(0, 0, 0)))
    legend = "dark = contrast filled · dotted = not filled · red X = occlusion · dots = peritoneal spill"
    p.drawText(QRectF(10, HEIGHT - 26, WIDTH - 20, 22), Qt.AlignmentFlag.AlignCenter, legend)
    p.end()
    return img
