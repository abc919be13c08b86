"""HSG Workstation: a reading workstation for hysterosalpingography.

Sub-packages (the design card's ``ui/``, ``reporting/``, ``dicom_io/`` live here, not at top level, so that
generic names such as ``ui`` never collide with other installed packages):

- :mod:`hsg_workstation.dicom_io`  files, pixels, local study database, PACS networking (no Qt)
- :mod:`hsg_workstation.reporting` the structured HSG report, rules, DICOM SR / PDF (no Qt but the PDF engine)
- :mod:`hsg_workstation.analysis`  fill-sequence analysis (numpy + scikit-image, no Qt)
- :mod:`hsg_workstation.ui`        the only package that imports PySide6 / pyqtgraph
"""

__version__ = "0.1.0"
