"""HSG Workstation: a reading workstation for hysterosalpingography.

Sub-packages (the design card's ``ui/``, ``reporting/``, ``dicom_io/`` live here, not at top level, so that
generic names such as ``ui`` never collide with other installed packages):

- :mod:`hsg_workstation.dicom_io`  files, pixels, local study database (no network, no Qt)
- :mod:`hsg_workstation.pacs`      DIMSE: association, find / retrieve / store, storage SCP, nodes, TLS
- :mod:`hsg_workstation.synthetic` the synthetic HSG study generator (imported only by the CLI)
- :mod:`hsg_workstation.analysis`  fill-sequence analysis (numpy + scikit-image, no Qt)
- :mod:`hsg_workstation.reporting` the structured HSG report, form specification, rules, workflows, DICOM SR /
  PDF (no Qt but the PDF engine)
- :mod:`hsg_workstation.session`   Qt-free reading-session state (measurements and key frames today)
- :mod:`hsg_workstation.ui`        the only package that imports PySide6 / pyqtgraph
- :mod:`hsg_workstation.cli`       one module per sub-command

The layers and the Qt boundary are import-linter contracts in pyproject.toml (docs/architecture.md).
"""

__version__ = "0.1.0"
