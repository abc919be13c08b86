"""The presentation contexts HSG asks for: only the storage classes an HSG reading needs.

pynetdicom allows at most 128 requested presentation contexts per association. A C-GET must request one context
per storage class it wants to *receive* (with SCP role selection), so proposing "all storage classes" fails or
silently drops classes. HSG needs fluoroscopy / angiography images (RF, XA and their enhanced forms), digital and
computed radiography (DX, CR), secondary captures, and the documents we read and write (SR, KOS, Encapsulated PDF,
GSPS). Image classes get extra contexts for the common compressed syntaxes so a PACS can send files as stored
instead of transcoding (one context carries one accepted transfer syntax).
"""

from __future__ import annotations

from pydicom.uid import (
    JPEG2000,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)
from pynetdicom.presentation import PresentationContext, build_context

IMAGE_STORAGE_CLASSES: dict[str, str] = {
    "1.2.840.10008.5.1.4.1.1.12.2": "X-Ray Radiofluoroscopic Image Storage",
    "1.2.840.10008.5.1.4.1.1.12.2.1": "Enhanced XRF Image Storage",
    "1.2.840.10008.5.1.4.1.1.12.1": "X-Ray Angiographic Image Storage",
    "1.2.840.10008.5.1.4.1.1.12.1.1": "Enhanced XA Image Storage",
    "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image Storage - For Presentation",
    "1.2.840.10008.5.1.4.1.1.1.1.1": "Digital X-Ray Image Storage - For Processing",
    "1.2.840.10008.5.1.4.1.1.1": "Computed Radiography Image Storage",
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.2": "Multi-frame Grayscale Byte Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.3": "Multi-frame Grayscale Word Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color Secondary Capture Image Storage",
}

DOCUMENT_STORAGE_CLASSES: dict[str, str] = {
    "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR Storage",
    "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR Storage",
    "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR Storage",
    "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR Storage",
    "1.2.840.10008.5.1.4.1.1.88.59": "Key Object Selection Document Storage",
    "1.2.840.10008.5.1.4.1.1.104.1": "Encapsulated PDF Storage",
    "1.2.840.10008.5.1.4.1.1.11.1": "Grayscale Softcopy Presentation State Storage",
}

HSG_STORAGE_CLASSES: dict[str, str] = {**IMAGE_STORAGE_CLASSES, **DOCUMENT_STORAGE_CLASSES}

VERIFICATION = "1.2.840.10008.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"

UNCOMPRESSED = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
# Each compressed syntax gets its own context for image classes (an acceptor picks one syntax per context).
COMPRESSED_FOR_IMAGES = [JPEGLosslessSV1, JPEGBaseline8Bit, JPEG2000Lossless, RLELossless]
# What the storage SCP accepts (an acceptor may list many syntaxes per abstract syntax).
SCP_TRANSFER_SYNTAXES = [
    *UNCOMPRESSED,
    DeflatedExplicitVRLittleEndian,
    JPEGLosslessSV1,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEG2000Lossless,
    JPEG2000,
    JPEGLSLossless,
    RLELossless,
]

MAX_REQUESTED_CONTEXTS = 128


def storage_class_name(uid: str) -> str:
    return HSG_STORAGE_CLASSES.get(uid) or UID(uid).name or uid


def retrieve_storage_contexts() -> list[PresentationContext]:
    """Requested contexts for the C-STORE sub-operations of a C-GET (we are the storage SCP on them)."""
    contexts = []
    for uid in IMAGE_STORAGE_CLASSES:
        contexts.append(build_context(uid, UNCOMPRESSED))
        contexts.extend(build_context(uid, ts) for ts in COMPRESSED_FOR_IMAGES)
    for uid in DOCUMENT_STORAGE_CLASSES:
        contexts.append(build_context(uid, UNCOMPRESSED))
    assert len(contexts) + 1 <= MAX_REQUESTED_CONTEXTS  # +1 for the Q/R model context
    return contexts


def scp_storage_contexts() -> list[PresentationContext]:
    """Supported contexts for our storage SCP: every HSG class, every syntax we can keep as received."""
    return [build_context(uid, SCP_TRANSFER_SYNTAXES) for uid in HSG_STORAGE_CLASSES]
