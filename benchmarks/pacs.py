"""PACS retrieve benchmark: our C-GET into the local database vs DCMTK getscu writing files, same run.

Starts a private Orthanc inside a loopback-only network namespace (root, like the integration tests), uploads a
generated 100-instance study of ~200 MB (1024x1024 16-bit single-frame RF), and times:

* ``cget_s``   — ``DicomClient.get`` into a fresh ``LocalDatabase`` (atomic write + SQLite index per instance);
* ``getscu_s`` — DCMTK ``getscu`` writing the same study into a folder (the baseline);
* ``cmove_s``  — ``retrieve_by_move`` into our own temporary storage SCP and a fresh ``LocalDatabase``;
* ``cfind_1000_s`` — a study-level C-FIND returning 1000 matches (``findscu_1000_s`` is DCMTK's time for it);
* ``wado_s``   — ``DicomWebClient.get`` (QIDO-RS instance list + streaming WADO-RS) of the same study from the
  same Orthanc's DICOMweb plugin (HTTP basic auth on) into a fresh ``LocalDatabase``; ``wado_vs_cget`` is the
  ratio to ``cget_s`` (target <= 1.2);
* ``qido_1000_s`` — the 1000-match study search over QIDO-RS (paged, 500 per page).

Each retrieve is run ``--repeat`` times (fresh destination each time); the median is reported.
Prints one JSON object. Run: ``sudo .venv/bin/python benchmarks/pacs.py`` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hsg_workstation.dicom_io.database import LocalDatabase  # noqa: E402
from hsg_workstation.pacs.client import DicomClient, retrieve_by_move  # noqa: E402
from hsg_workstation.pacs.dicomweb import DicomWebClient  # noqa: E402
from hsg_workstation.pacs.nodes import DicomWebNode, LocalNode, RemoteNode  # noqa: E402
from hsg_workstation.pacs.types import StudyQuery, Timeouts  # noqa: E402
from tests.integration import dicomgen, netns  # noqa: E402
from tests.integration.orthanc import Orthanc, which  # noqa: E402

OUR_AET = "HSGVIEW"
SCP_PORT = 11113


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--instances", type=int, default=100)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--find-studies", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    previous = netns.enter_private_netns()
    work = Path(tempfile.mkdtemp(prefix="hsg-pacs-bench-"))
    orthanc = Orthanc(
        work / "orthanc",
        dicom_port=14242,
        http_port=18042,
        modalities={"hsg": [OUR_AET, "127.0.0.1", SCP_PORT]},
        extra_config={
            "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
            "AuthenticationEnabled": True,
            "RegisteredUsers": {"hsg": "bench"},
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        },
        credentials=("hsg", "bench"),
    )
    (work / "orthanc").mkdir()
    (work / "pw").write_text("bench")
    web = DicomWebClient(
        DicomWebNode(
            name="orthanc-web",
            base_url="http://127.0.0.1:18042/dicom-web",
            auth="basic",
            username="hsg",
            password_file=str(work / "pw"),
        ),
        Timeouts(),
    )
    try:
        orthanc.start()
        study = dicomgen.make_study(series=1, per_series=args.instances, size=args.size)
        total_bytes = 0
        for ds in study.datasets:
            data = dicomgen.encode(ds)
            total_bytes += len(data)
            orthanc.upload(data)
        study.datasets.clear()  # free ~200 MB

        node = RemoteNode("orthanc", orthanc.aet, "127.0.0.1", orthanc.dicom_port)
        client = DicomClient(node, OUR_AET, Timeouts())
        cget, getscu, cmove, wado = [], [], [], []
        for i in range(args.repeat):
            out = work / f"getscu{i}"
            out.mkdir()
            cmd = [which("getscu"), "-S", "-aet", OUR_AET, "-aec", orthanc.aet, "-od", str(out),
                   "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study.study_uid}",
                   "127.0.0.1", str(orthanc.dicom_port)]  # fmt: skip
            getscu.append(timed(lambda cmd=cmd: subprocess.run(cmd, check=True, capture_output=True)))
            assert len(list(out.iterdir())) == args.instances
            shutil.rmtree(out)

            with LocalDatabase(work / f"db-get{i}") as db:
                result = None

                def run_get(db: LocalDatabase = db) -> None:
                    nonlocal result
                    result = client.get(study.study_uid, db)

                cget.append(timed(run_get))
                assert result is not None and result.status == "complete", result
            shutil.rmtree(work / f"db-get{i}")

            with LocalDatabase(work / f"db-move{i}") as db:
                local = LocalNode(ae_title=OUR_AET, port=SCP_PORT, bind_address="127.0.0.1")
                moved = None

                def run_move(db: LocalDatabase = db, local: LocalNode = local) -> None:
                    nonlocal moved
                    moved = retrieve_by_move(client, study.study_uid, db, local)

                cmove.append(timed(run_move))
                assert moved is not None and moved.status == "complete", moved
            shutil.rmtree(work / f"db-move{i}")

            with LocalDatabase(work / f"db-wado{i}") as db:
                got = None

                def run_wado(db: LocalDatabase = db) -> None:
                    nonlocal got
                    got = web.get(study.study_uid, db)

                wado.append(timed(run_wado))
                assert got is not None and got.status == "complete", got
            shutil.rmtree(work / f"db-wado{i}")

        orthanc.delete_all()
        for i in range(args.find_studies):
            s = dicomgen.make_study(series=1, per_series=1, size=8, patient_id=f"F{i:04d}")
            orthanc.upload(dicomgen.encode(s.datasets[0]))
        found: list[int] = []
        cfind = timed(
            lambda: found.append(len(client.find_studies(StudyQuery(), max_results=100_000).matches))
        )
        assert found == [args.find_studies], found
        qfound: list[int] = []
        qido = timed(lambda: qfound.append(len(web.find_studies(StudyQuery(), max_results=100_000).matches)))
        assert qfound == [args.find_studies], qfound
        rsp = work / "findscu"
        rsp.mkdir()
        fcmd = [which("findscu"), "-S", "-aet", OUR_AET, "-aec", orthanc.aet, "-X", "--output-directory", str(rsp),
                "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID", "-k", "PatientName",
                "127.0.0.1", str(orthanc.dicom_port)]  # fmt: skip
        findscu = timed(lambda: subprocess.run(fcmd, check=True, capture_output=True))
    finally:
        orthanc.stop()
        shutil.rmtree(work, ignore_errors=True)
        netns.leave_private_netns(previous)

    med = statistics.median
    print(
        json.dumps(
            {
                "instances": args.instances,
                "study_mb": round(total_bytes / 1e6, 1),
                "repeat": args.repeat,
                "cget_s": round(med(cget), 3),
                "getscu_s": round(med(getscu), 3),
                "cget_vs_getscu": round(med(cget) / med(getscu), 3),
                "cmove_s": round(med(cmove), 3),
                "cmove_vs_getscu": round(med(cmove) / med(getscu), 3),
                "wado_s": round(med(wado), 3),
                "wado_vs_cget": round(med(wado) / med(cget), 3),
                "cfind_1000_s": round(cfind, 3),
                "qido_1000_s": round(qido, 3),
                "findscu_1000_s": round(findscu, 3),
                "cget_runs_s": [round(x, 3) for x in cget],
                "getscu_runs_s": [round(x, 3) for x in getscu],
                "cmove_runs_s": [round(x, 3) for x in cmove],
                "wado_runs_s": [round(x, 3) for x in wado],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
