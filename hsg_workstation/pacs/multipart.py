"""Streaming reader for ``multipart/related`` bodies (WADO-RS answers), one part at a time.

Why not dicomweb-client's own reader: its ``iter_*`` calls hand back parsed pydicom Datasets, which would have to
be encoded again before they are written — the bytes stored would not be the bytes the archive sent, and a
200 MB study would be parsed twice. This reader yields each part's raw bytes as soon as its closing delimiter
has arrived, so a study is never held in memory as a whole (one part at most), and a part cut off by a closed
connection is never yielded — nothing half-received can be stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator


class MultipartError(ValueError):
    """The body is not a complete multipart/related message (bad header, cut off, part too large)."""


def boundary_of(content_type: str) -> bytes:
    """The ``boundary`` parameter of a Content-Type header, or MultipartError naming what was received."""
    if not content_type.lower().startswith("multipart/"):
        raise MultipartError(f"expected a multipart/related answer, got Content-Type {content_type!r}")
    m = re.search(r'boundary="?([^";]+)"?', content_type, flags=re.I)
    if not m:
        raise MultipartError(f"multipart answer without a boundary: Content-Type {content_type!r}")
    return m.group(1).strip().encode("latin-1")


def _find_delimiter(buf: bytearray, delim: bytes, start: int) -> int:
    """Index of the next real delimiter: ``CRLF--boundary`` followed by ``--`` (close) or by optional
    whitespace and CRLF (RFC 2046 §5.1.1). The same bytes followed by anything else are part of the body.
    -1 when there is none yet, or when the bytes after a candidate have not arrived (search again later)."""
    while True:
        j = buf.find(delim, start)
        if j < 0:
            return -1
        k = j + len(delim)
        tail = bytes(buf[k : k + 2])
        if tail == b"--":
            return j
        rest = bytes(buf[k:]).lstrip(b" \t")
        if rest.startswith(b"\r\n"):
            return j
        if len(tail) < 2 or (not rest or rest == b"\r"):
            return -1  # undecided until more bytes arrive
        start = j + 1


def iter_parts(chunks: Iterable[bytes], boundary: bytes, *, max_part_bytes: int) -> Iterator[bytes]:
    """Yield the body of each part of a multipart message given as a stream of chunks.

    Raises :class:`MultipartError` when the stream ends before the closing delimiter (the parts already
    yielded were complete), or when one part grows beyond ``max_part_bytes`` (a server sending garbage must
    not exhaust memory).
    """
    opening = b"--" + boundary
    delim = b"\r\n--" + boundary
    buf = bytearray()
    started = False
    scan_from = 0  # where the search for the next delimiter resumes (bytes before it were searched already)
    for chunk in chunks:
        if not chunk:
            continue
        buf += chunk
        if not started:
            i = buf.find(opening)
            if i < 0:
                if len(buf) > 65536:
                    raise MultipartError("no multipart boundary in the first 64 KiB of the answer")
                continue
            del buf[: i + len(opening)]
            started = True
            scan_from = 0
        while True:
            if len(buf) < 2:
                break
            if buf[:2] == b"--":
                return  # closing delimiter: the message is complete
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                if len(buf) > 65536:
                    raise MultipartError("a part's headers are longer than 64 KiB")
                break
            body_start = head_end + 4
            j = _find_delimiter(buf, delim, max(body_start, scan_from))
            if j < 0:
                if len(buf) - body_start > max_part_bytes:
                    raise MultipartError(f"one part is larger than {max_part_bytes} bytes")
                scan_from = max(body_start, len(buf) - len(delim) - 1)
                break
            if j - body_start > max_part_bytes:
                raise MultipartError(f"one part is larger than {max_part_bytes} bytes")
            body = bytes(buf[body_start:j])
            del buf[: j + len(delim)]
            while buf[:1] in (b" ", b"\t"):  # transport padding after the boundary
                del buf[:1]
            scan_from = 0
            yield body
    raise MultipartError(
        "the answer ended before the multipart message was complete (connection closed mid-transfer)"
        if started
        else "the answer contained no multipart part"
    )
