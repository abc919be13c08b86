"""PDF/A report: fonts embedded (pdffonts), findings / impression / after-care text present (pdftotext),
key images rendered with annotations, schematic drawn from the findings."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hsg_workstation.reporting import model as m

from .conftest import full_report


def _pdftotext(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=60
    ).stdout


@pytest.mark.timeout(120)
def test_pdf_fonts_embedded_and_text_present(tmp_path: Path, source_datasets, study_dir: Path) -> None:
    from hsg_workstation.reporting.pdf import render_pdf

    rf, dx = source_datasets
    report = full_report(rf, dx, signed=True)
    out = tmp_path / "report.pdf"
    # Key images from files (decoded one frame at a time) for the RF loop, from a dataset for the DX.
    pdf = render_pdf(report, {rf.SOPInstanceUID: study_dir / "rf.dcm", dx.SOPInstanceUID: dx}, out)
    assert pdf.startswith(b"%PDF-") and out.read_bytes() == pdf
    assert b"pdfaid:part" in pdf  # PDF/A identification in the XMP metadata

    fonts = subprocess.run(
        ["pdffonts", str(out)], capture_output=True, text=True, timeout=60
    ).stdout.splitlines()
    rows = [line for line in fonts[2:] if line.strip()]
    assert rows, "no fonts listed"
    for row in rows:
        emb = row.split()[-5]
        assert emb == "yes", f"font not embedded: {row}"

    text = " ".join(_pdftotext(out).split())
    for expected in (
        "Synthetic Hospital",
        "SYN-0001",
        "Clinical information",
        "Pre-procedure safety checks",
        "Radiation dose",
        "Findings",
        "Fallopian tubes",
        "distal (fimbrial)",
        "yes, 18 mm, moderate",
        "polyp",
        "Right distal tubal occlusion with hydrosalpinx (18 mm).",
        "7 mm fundal polyp, edited by reader.",
        "Hysteroscopy to confirm the polyp.",
        "intercornual",  # measurement table with value and calibration basis
        "at detector",
        "Electronically signed by Anna Reader",
    ):
        assert expected in text, expected
    # The patient's after-care page: its own last page, in plain words (issue 5 wording).
    last = _pages(out)[-1]
    assert "HSG report" in last[0]  # the running header (status, patient) is on every page (issue 11)
    aftercare = " ".join(last[1:])
    assert aftercare.startswith("After your HSG") and "Impression" not in aftercare
    for expected in (
        "cramps",
        "usually settle within an hour",
        "Light spotting",
        "normal for a few days",
        "fever",
        "foul-smelling discharge",
        "heavy bleeding or bleeding that goes on for more than a few days",
        "contact a doctor",
        "Infection after this test is rare",
        "about 1 %",
    ):
        assert expected in aftercare, expected


@pytest.mark.timeout(120)
def test_draft_pdf_says_draft_and_missing_key_image_is_clear(tmp_path: Path, source_datasets) -> None:
    from hsg_workstation.reporting.pdf import render_pdf

    rf, dx = source_datasets
    report = full_report(rf, dx)
    pdf = render_pdf(report, {rf.SOPInstanceUID: rf, dx.SOPInstanceUID: dx}, tmp_path / "d.pdf")
    assert pdf
    assert "DRAFT" in _pdftotext(tmp_path / "d.pdf")
    with pytest.raises(ValueError, match="image not found"):
        render_pdf(report, {rf.SOPInstanceUID: rf})


@pytest.mark.timeout(60)
def test_key_image_has_annotation_burned_in(source_datasets) -> None:
    from hsg_workstation.reporting.pdf import key_image_qimage

    rf, dx = source_datasets
    report = full_report(rf, dx)
    annotated = key_image_qimage(report, report.key_images[1], rf)  # frame 3 has the polyp ellipse
    plain = key_image_qimage(
        report, m.KeyImage(rf.SOPInstanceUID, rf.SOPClassUID, 1), rf
    )  # no region on frame 1

    def yellow(img) -> int:
        n = 0
        for y in range(0, img.height(), 2):
            for x in range(0, img.width(), 2):
                c = img.pixelColor(x, y)
                n += c.red() > 200 and c.green() > 180 and c.blue() < 80
        return n

    assert yellow(annotated) > 20
    assert yellow(plain) == 0


@pytest.mark.timeout(60)
def test_schematic_marks_occluded_side_and_spill_side(source_datasets) -> None:
    """Right tube occluded (red X on the viewer's LEFT half), left tube spills (dots on the viewer's right)."""
    from hsg_workstation.reporting.pdf import ensure_gui_app
    from hsg_workstation.reporting.schematic import draw_schematic, tube_extent

    ensure_gui_app()
    rf, dx = source_datasets
    report = full_report(rf, dx)
    img = draw_schematic(report)
    w, h = img.width(), img.height()

    def count(x0: int, x1: int, pred) -> int:
        return sum(pred(img.pixelColor(x, y)) for y in range(0, h - 40, 2) for x in range(x0, x1, 2))

    def is_red(c) -> bool:
        return c.red() > 150 and c.green() < 80 and c.blue() < 80

    assert count(0, w // 2, is_red) > 10
    assert count(w // 2, w, is_red) == 0
    filled, occl = tube_extent(report.findings.tubes.right)
    assert occl is not None and filled <= occl
    assert tube_extent(report.findings.tubes.left) == (1.0, None)
    # Swap: occlude the left tube only → the red mark moves to the viewer's right.
    report.findings.tubes.right.patency = m.Patency.PATENT
    report.findings.tubes.right.occlusion_level = None
    report.findings.tubes.left.patency = m.Patency.OCCLUDED
    report.findings.tubes.left.occlusion_level = m.OcclusionLevel.PROXIMAL
    img = draw_schematic(report)
    assert count(0, w // 2, is_red) == 0
    assert count(w // 2, w, is_red) > 10


def _pages(path: Path) -> list[list[str]]:
    """Non-empty text lines per page, page numbers dropped."""
    pages = _pdftotext(path).split("\f")
    return [
        [ln.strip() for ln in p.splitlines() if ln.strip() and not ln.strip().isdigit()]
        for p in pages
        if p.strip()
    ]


@pytest.mark.timeout(120)
def test_heading_at_the_foot_of_a_page_moves_to_the_next_page(tmp_path: Path) -> None:
    """QTextDocument has no 'keep with next': without keep_headings_with_content the heading below ends page 1
    and its text starts page 2 (checked first, so the test can fail), with it both are on page 2."""
    from PySide6.QtGui import QTextDocument

    from hsg_workstation.reporting.pdf import document_to_pdf, ensure_gui_app

    ensure_gui_app()

    def doc_with(n_filler: int) -> QTextDocument:
        doc = QTextDocument()
        filler = "".join(f"<p>Filler line {i}</p>" for i in range(n_filler))
        doc.setHtml(f"<html><body>{filler}<h2>Impression</h2><p>First impression sentence.</p></body></html>")
        return doc

    import hsg_workstation.reporting.pdf as pdf_module

    stranded = None
    for n in range(30, 90):  # find the filler length that leaves the heading alone at the foot of page 1
        original = pdf_module.keep_headings_with_content
        pdf_module.keep_headings_with_content = lambda *a, **k: 0  # type: ignore[assignment]
        try:
            (tmp_path / "raw.pdf").write_bytes(document_to_pdf(doc_with(n)))
        finally:
            pdf_module.keep_headings_with_content = original
        pages = _pages(tmp_path / "raw.pdf")
        if len(pages) > 1 and pages[0][-1] == "Impression":
            stranded = n
            break
    assert stranded is not None, "no filler length strands the heading: the test lost its point"
    (tmp_path / "kept.pdf").write_bytes(document_to_pdf(doc_with(stranded)))
    pages = _pages(tmp_path / "kept.pdf")
    assert pages[0][-1] != "Impression"
    assert pages[1][:2] == ["Impression", "First impression sentence."]


@pytest.mark.timeout(120)
def test_report_pages_never_end_with_a_section_heading(tmp_path: Path, source_datasets) -> None:
    from hsg_workstation.reporting.pdf import render_pdf

    rf, dx = source_datasets
    headings = {
        "Clinical information", "Pre-procedure safety checks", "Technique", "Radiation dose", "Findings",
        "Cervix and cervical canal", "Uterine cavity", "Filling defects", "Intrauterine adhesions",
        "Fallopian tubes", "Peritoneum and intravasation", "Measurements", "Complications and tolerance",
        "Impression", "Recommendations", "Signature", "Key images",
    }  # fmt: skip
    for n_notes in (0, 6, 12):  # longer notes shift every later section down the pages
        report = full_report(rf, dx)
        report.clinical.notes = " ".join(["Long clinical history sentence for layout."] * (n_notes * 12))
        out = tmp_path / f"r{n_notes}.pdf"
        render_pdf(report, {rf.SOPInstanceUID: rf, dx.SOPInstanceUID: dx}, out)
        pages = _pages(out)
        assert len(pages) >= 3
        for i, lines in enumerate(pages):
            assert lines[-1] not in headings, (n_notes, i + 1, lines[-3:])


@pytest.mark.timeout(60)
def test_schematic_cavity_follows_the_shape_and_distal_hydrosalpinx_fills_to_the_block(
    source_datasets,
) -> None:
    """A unicornuate hemicavity is drawn towards the side whose tube filled (not as a normal triangle), and a
    distally occluded hydrosalpinx is filled up to its occlusion mark."""
    from hsg_workstation.reporting.pdf import ensure_gui_app
    from hsg_workstation.reporting.schematic import draw_schematic, tube_extent

    ensure_gui_app()
    rf, dx = source_datasets
    report = full_report(rf, dx)
    w = draw_schematic(report).width()

    def cavity_grey(img, x0: int, x1: int) -> int:  # the cavity fill colour (90, 90, 90) in the cavity band
        return sum(
            img.pixelColor(x, y).red() in range(85, 96) and img.pixelColor(x, y).green() in range(85, 96)
            for y in range(150, 240, 2)
            for x in range(x0, x1, 2)
        )

    normal = draw_schematic(report)
    assert abs(cavity_grey(normal, 0, w // 2) - cavity_grey(normal, w // 2, w)) < 0.2 * cavity_grey(
        normal, 0, w
    )
    report.findings.cavity.shape = m.CavityShape.SINGLE_HEMICAVITY_FUSIFORM
    report.findings.tubes.right.opacified_to = m.OpacifiedTo.NONE  # only the patient's left tube filled
    uni = draw_schematic(report)
    assert cavity_grey(uni, w // 2, w) > 2 * cavity_grey(uni, 0, w // 2)  # patient's left = viewer's right
    assert cavity_grey(uni, 0, w) < 0.8 * cavity_grey(normal, 0, w)

    t = report.findings.tubes.left
    t.patency, t.occlusion_level, t.opacified_to = (
        m.Patency.OCCLUDED,
        m.OcclusionLevel.DISTAL,
        m.OpacifiedTo.AMPULLARY,
    )
    t.spill, t.hydrosalpinx = m.Spill.NONE, True
    filled, occlusion = tube_extent(t)
    assert occlusion is not None and filled == occlusion > 0.9
