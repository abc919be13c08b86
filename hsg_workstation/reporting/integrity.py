"""Integrity check of a signed report's JSON: a SHA-256 over its canonical form, written next to the content.

Why: a signed report is a legal document. Before this check, a signed report's JSON edited on disk (a finding
changed, the impression rewritten) loaded again as signed with the original signature. Now ``to_json()`` of a
signed report carries ``"integrity": {"algorithm": "sha256", "signed_content_sha256": ...}`` computed over the
canonical JSON of everything else (keys sorted, no whitespace, UTF-8), and loading from disk recomputes it: any
change, including to the status or the signature itself, is refused with a message naming the file — the file is
kept as it is for inspection and never silently re-sealed.

This is a check against accidental or casual change, not a cryptographic signature: whoever can write the file
can also recompute the hash. It makes every edit deliberate and visible; a qualified electronic signature would
need a key the user holds (future work).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

INTEGRITY_KEY = "integrity"
ALGORITHM = "sha256"


class ReportIntegrityProblem(ValueError):
    """Raised by :func:`verify`; the model turns it into ``ReportIntegrityError`` naming the report."""


def canonical_bytes(report_json: dict[str, Any]) -> bytes:
    """The report JSON without its integrity block, keys sorted, compact, UTF-8."""
    content = {k: v for k, v in report_json.items() if k != INTEGRITY_KEY}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal(report_json: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``report_json`` with its integrity block (over everything else)."""
    digest = hashlib.sha256(canonical_bytes(report_json)).hexdigest()
    return {**report_json, INTEGRITY_KEY: {"algorithm": ALGORITHM, "signed_content_sha256": digest}}


def verify(
    report_json: dict[str, Any],
    block: Any,
    *,
    signed: bool,
    required: bool,
    as_read: dict[str, Any] | None = None,
) -> None:
    """Check ``block`` (the ``integrity`` value read, or None) against ``report_json`` (the content re-encoded).

    ``signed``: the content says the report is signed. ``required``: a signed report without a block is refused
    (JSON read from disk); without it, a block is still checked when present (in-memory round trips).
    """
    if block is None:
        if signed and required:
            raise ReportIntegrityProblem(
                "a signed report without its integrity check (edited by hand, or written by an older version); "
                "refused — open the SR from the PACS or amend a verified copy"
            )
        return
    if not isinstance(block, dict) or block.get("algorithm") != ALGORITHM:
        raise ReportIntegrityProblem(f"integrity block is not {{'algorithm': '{ALGORITHM}', ...}}")
    recorded = block.get("signed_content_sha256")
    actual = hashlib.sha256(canonical_bytes(report_json)).hexdigest()
    # ``as_read``: the JSON exactly as it was read. A report signed before a field was added to the model (a
    # new field with its empty default, e.g. ``ImageLink.measurement_id``) re-encodes with that field, yet the
    # file is unchanged since signing — the seal over the content as read still proves that.
    if recorded != actual and as_read is not None:
        actual = hashlib.sha256(canonical_bytes(as_read)).hexdigest()
    if recorded != actual:
        raise ReportIntegrityProblem(
            "the content was changed after signing (integrity check failed: SHA-256 "
            f"{str(recorded)[:12]}… recorded, {actual[:12]}… found); refused — the file is kept unchanged"
        )
    if not signed:
        raise ReportIntegrityProblem(
            "a sealed report whose status is no longer 'signed' (changed after signing)"
        )
