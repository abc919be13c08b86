"""One small exception hierarchy so callers (CLI, GUI) can turn any failure into a clear message.

Every message names the file or field concerned and what is wrong; never patient data beyond what the user
already sees on screen.
"""

from __future__ import annotations


class HsgError(Exception):
    """Base of every error the workstation raises on purpose."""


class DicomReadError(HsgError):
    """A file could not be read as DICOM (not DICOM, truncated, missing required attributes, too large)."""


class UnsupportedTransferSyntax(DicomReadError):
    """Pixel data is encoded in a transfer syntax no installed decoder handles.

    The message names the syntax (UID and name) and the package that would decode it.
    """


class PacsError(HsgError):
    """A network operation with a remote DICOM node failed (association, timeout, status)."""


class ReportValidationError(HsgError):
    """A report cannot be signed or exported because validation found errors.

    ``issues`` holds every problem found, not just the first.
    """

    def __init__(self, message: str, issues: list | None = None) -> None:
        super().__init__(message)
        self.issues = list(issues or [])


class ConfigError(HsgError):
    """The user configuration is invalid; the message names the key."""
