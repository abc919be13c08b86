"""A throw-away Debian Orthanc for the tests: JSON config + storage in a temp dir, loopback ports only.

Must be started from inside the private network namespace (see netns.py). Keys verified in stack-notes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ORTHANC_BIN = "/usr/sbin/Orthanc"
ORTHANC_AET = "ORTHANC"


class Orthanc:
    def __init__(
        self,
        workdir: Path,
        *,
        dicom_port: int,
        http_port: int,
        modalities: dict[str, list[Any]],
        extra_config: dict[str, Any] | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        """``extra_config`` is merged into the JSON config (e.g. the DICOMweb plugin); ``credentials`` are
        sent with every REST call of this helper when the server has authentication on."""
        self.extra_config = extra_config or {}
        self.credentials = credentials
        self.workdir = workdir
        self.dicom_port = dicom_port
        self.http_port = http_port
        self.aet = ORTHANC_AET
        self.modalities = modalities
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "orthanc.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def config(self) -> dict[str, Any]:
        return {
            "Name": "hsg-test-orthanc",
            "StorageDirectory": str(self.workdir / "storage"),
            "IndexDirectory": str(self.workdir / "index"),
            "HttpPort": self.http_port,
            "DicomAet": self.aet,
            "DicomPort": self.dicom_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True,
            "DicomAlwaysAllowGet": True,
            "DicomAlwaysAllowMove": True,
            "DicomCheckCalledAet": False,
            "DicomModalities": self.modalities,
            "DicomScuTimeout": 10,
            "DicomAssociationCloseDelay": 0,
            "LimitFindResults": 0,
            "LimitFindInstances": 0,
            "StorageCompression": False,
            "Plugins": [],
            **self.extra_config,
        }

    def start(self) -> Orthanc:
        if not Path(ORTHANC_BIN).exists():
            raise RuntimeError(
                f"{ORTHANC_BIN} is missing: install the Debian package 'orthanc' (make deb-test)"
            )
        cfg = self.workdir / "orthanc.json"
        cfg.write_text(json.dumps(self.config(), indent=2))
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [ORTHANC_BIN, str(cfg)], stdout=self._log, stderr=subprocess.STDOUT, cwd=self.workdir
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.get("/system")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"Orthanc did not answer on HTTP within 30 s:\n{self.log_tail()}")
        return self

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None
        self._log.close()

    # -- REST ----------------------------------------------------------------------------------------------
    def _request(
        self, method: str, path: str, data: bytes | None = None, ctype: str = "application/json"
    ) -> Any:
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if self.credentials is not None:
            import base64

            token = base64.b64encode(":".join(self.credentials).encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        if data is not None:
            req.add_header("Content-Type", ctype)
        with urllib.request.urlopen(req, timeout=30) as rsp:
            body = rsp.read()
        return json.loads(body) if body else None

    def _request_bytes(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=30) as rsp:
            return rsp.read()

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def upload(self, encoded: bytes) -> dict[str, Any]:
        return self._request("POST", "/instances", encoded, "application/dicom")

    def delete_all(self) -> None:
        for pid in self.get("/patients"):
            self._request("DELETE", f"/patients/{pid}")

    def sop_instance_uids(self) -> set[str]:
        out = set()
        for iid in self.get("/instances"):
            tags = self.get(f"/instances/{iid}/simplified-tags")
            out.add(tags["SOPInstanceUID"])
        return out

    def find_study_sop_uids(self, study_uid: str) -> set[str]:
        hits = self._request(
            "POST",
            "/tools/find",
            json.dumps(
                {"Level": "Instance", "Query": {"StudyInstanceUID": study_uid}, "Expand": True}
            ).encode(),
        )
        return {h["MainDicomTags"]["SOPInstanceUID"] for h in hits}


# DCMTK's network tools share their names with other programs' scripts (pynetdicom 2 installed ``storescu``,
# ``findscu``, ``getscu`` ... into an activated venv's PATH): these are called by absolute path and checked.
DCMTK_NETWORK_TOOLS = frozenset(
    {"storescu", "storescp", "findscu", "getscu", "movescu", "echoscu", "dcmqrscp", "termscu", "wlmscpfs"}
)


def which(tool: str) -> str:
    """Absolute path of an external tool. DCMTK network tools: ``/usr/bin/<tool>``, and ``--version`` must name
    DCMTK, whatever PATH says."""
    if tool in DCMTK_NETWORK_TOOLS:
        return dcmtk_tool(tool)
    path = shutil.which(tool)
    if path is None:
        raise RuntimeError(f"{tool} is missing: install the Debian package 'dcmtk' (make deb-test)")
    return path


def dcmtk_tool(tool: str, directory: str = "/usr/bin") -> str:
    """``/usr/bin/<tool>`` after checking that it is DCMTK's (its ``--version`` says ``$dcmtk: ...``)."""
    path = f"{directory}/{tool}"
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20).stdout
    except OSError:
        raise RuntimeError(f"{path} is missing: install the Debian package 'dcmtk' (make deb-test)") from None
    if "dcmtk" not in version.lower():
        raise RuntimeError(f"{path} is not DCMTK's {tool} (--version: {version.strip()[:80]!r})")
    return path
