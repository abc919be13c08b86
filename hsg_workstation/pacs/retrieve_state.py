"""What a running C-GET / C-MOVE knows: counts, received UIDs, errors, and the write-behind queue.

Shared between the C-STORE handler (an association thread: ours for C-GET, the storage SCP's for C-MOVE) and
the response loop (the caller's thread). A module of its own so that both the client (``client.py``) and the
storage SCP (``scp.py``) use it without importing each other.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pynetdicom import evt

from hsg_workstation.pacs.types import InstanceSink, Progress, ProgressCallback

log = logging.getLogger(__name__)

DEFAULT_WRITE_BEHIND_BYTES = 256 * 1024 * 1024
WRITE_BEHIND_WORKERS = 2  # writes are fsync-bound; more threads measured no faster here (2 cores)


@dataclass
class RetrieveState:
    """Shared between the C-STORE handler (association thread) and the response loop (caller thread).

    With ``write_behind_bytes > 0`` a received instance is acknowledged to the peer as soon as its bytes are
    queued, and written (atomically, through the sink) by a small pool while the next one crosses the network.
    The sink's durable write (tmp + fsync + rename + index) costs ~3x the transfer on loopback; overlapping the
    two is what makes C-GET into the database faster than ``getscu`` into a plain folder. Safe for a *retrieve*:
    the peer deletes nothing on our acknowledgement, every local failure is still counted and reported
    (``partial``), and :meth:`final_snapshot` waits for every queued write before a result is decided. In-flight
    bytes are bounded so a large multi-frame cine cannot exhaust memory. The always-on storage SCP (pushes from
    modalities that may delete after success) stays synchronous.
    """

    sink: InstanceSink | None
    progress_cb: ProgressCallback | None
    write_behind_bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    completed: int = 0
    remaining: int | None = None
    failed: int = 0
    warning: int = 0
    received: list[str] = field(default_factory=list)
    duplicates: int = 0
    local_failures: int = 0
    errors: list[str] = field(default_factory=list)
    last_activity: float = field(default_factory=time.monotonic)
    _pool: ThreadPoolExecutor | None = None
    _inflight: int = 0
    _inflight_count: int = 0
    _room: threading.Condition = field(default_factory=threading.Condition)

    def snapshot(self) -> Progress:
        with self.lock:
            return Progress(
                completed=self.completed,
                remaining=self.remaining,
                failed=self.failed,
                warning=self.warning,
                received=len(self.received),
                duplicates=self.duplicates,
                local_failures=self.local_failures,
            )

    def final_snapshot(self) -> Progress:
        """Wait for every queued write, then snapshot: results are decided only on what is really stored."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        return self.snapshot()

    def notify(self) -> None:
        if self.progress_cb is not None:
            try:
                self.progress_cb(self.snapshot())
            except Exception:  # a broken progress callback must not break the retrieve
                log.exception("progress callback failed")

    def handle_store(self, event: evt.Event) -> int:
        """EVT_C_STORE: hand the bytes as received to the sink; answer the peer with a storage status."""
        self.last_activity = time.monotonic()
        if self.sink is None:
            return 0x0122
        sop_uid = str(event.request.AffectedSOPInstanceUID or "")
        data = event.encoded_dataset()
        if self.write_behind_bytes <= 0:
            return self._write(data, sop_uid)
        size = len(data)
        with self._room:
            while self._inflight_count and self._inflight + size > self.write_behind_bytes:
                self._room.wait()
            self._inflight += size
            self._inflight_count += 1
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=WRITE_BEHIND_WORKERS, thread_name_prefix="hsg-retrieve-write"
                )
            pool = self._pool
        pool.submit(self._write_queued, data, sop_uid)
        return 0x0000

    def _write_queued(self, data: bytes, sop_uid: str) -> None:
        try:
            self._write(data, sop_uid)
        finally:
            with self._room:
                self._inflight -= len(data)
                self._inflight_count -= 1
                self._room.notify_all()

    def _write(self, data: bytes, sop_uid: str) -> int:
        assert self.sink is not None
        try:
            result = self.sink.add_encoded(data, source="network")
            status = str(getattr(result, "status", "imported"))
            sop_uid = str(getattr(result, "sop_instance_uid", None) or sop_uid)
        except OSError as exc:
            with self.lock:
                self.local_failures += 1
                self.errors.append(f"instance {sop_uid or '?'}: could not be written: {exc}")
            code = 0xA700
        except Exception as exc:  # noqa: BLE001 - any sink error becomes a failed sub-operation, not a crash
            with self.lock:
                self.local_failures += 1
                self.errors.append(f"instance {sop_uid or '?'}: could not be stored: {exc}")
            code = 0xC210
        else:
            with self.lock:
                if status == "skipped":
                    self.local_failures += 1
                    reason = getattr(result, "reason", "") or "skipped by the local database"
                    self.errors.append(f"instance {sop_uid}: not stored: {reason}")
                    code = 0xC211
                else:
                    self.received.append(sop_uid)
                    if status == "duplicate":
                        self.duplicates += 1
                    code = 0x0000
        self.last_activity = time.monotonic()
        self.notify()
        return code
