"""Draft store: autosave on every change, atomic files, recovery after kill -9, discard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hsg_workstation.reporting import model as m
from hsg_workstation.reporting.drafts import DraftError, DraftStore, atomic_write_json
from hsg_workstation.reporting.reference import example_report


@pytest.fixture
def store(data_dir: Path) -> DraftStore:
    return DraftStore(data_dir / "drafts")


def test_watch_autosaves_every_change_and_load_round_trips(store: DraftStore) -> None:
    r = example_report("endometrial_polyp")
    store.watch(r)
    path = store.path_for(r.report_id)
    assert store.load(r.report_id) == r
    r.set_value("findings.tubes.left.note", "slightly tortuous")
    assert store.load(r.report_id).findings.tubes.left.note == "slightly tortuous"
    r.edit_impression_sentence(0, "Tubes patent.", who="Dr A")
    r.acknowledge("V03", "safety.cycle_day", "late appointment", "Dr A")
    loaded = store.load(r.report_id)
    assert loaded == r and loaded.impression.edits[-1].new_text == "Tubes patent."
    r.sign("Dr A")
    # the signed state is saved too — in the signed store, no longer as a draft (issue 16 point 6)
    assert store.signed.load(r.report_id).is_signed and not path.exists()
    store.unwatch(r)


def test_unwatched_report_is_not_saved(store: DraftStore) -> None:
    r = example_report("normal")
    store.watch(r)
    store.unwatch(r)
    r.set_value("findings.tubes.left.note", "after unwatch")
    assert store.load(r.report_id).findings.tubes.left.note == ""


def test_recover_lists_drafts_newest_first_and_reports_broken_ones(store: DraftStore) -> None:
    a, b = example_report("normal"), example_report("unicornuate")
    store.save(a)
    time.sleep(0.01)
    store.save(b)
    (store.directory / "broken.json").write_text("{not json", encoding="utf-8")
    (store.directory / f".{a.report_id}.json.abc.tmp").write_text(
        "half", encoding="utf-8"
    )  # interrupted save
    found = store.recover()
    good = [d for d in found if not d.error]
    assert [d.report_id for d in good] == [b.report_id, a.report_id]
    assert good[0].study_instance_uid == b.identity.study_instance_uid and good[0].status == "draft"
    (bad,) = [d for d in found if d.error]
    assert bad.report_id == "broken" and "broken.json" in bad.error
    assert not list(store.directory.glob(".*.tmp"))
    with pytest.raises(DraftError, match="broken.json"):
        store.load("broken")


def test_discard(store: DraftStore) -> None:
    r = example_report("normal")
    store.save(r)
    assert store.discard(r.report_id) is True
    assert store.discard(r.report_id) is False
    assert store.recover() == []
    with pytest.raises(DraftError, match="no draft"):
        store.load(r.report_id)


def test_unsafe_report_ids_are_refused(store: DraftStore) -> None:
    with pytest.raises(DraftError, match="safe file name"):
        store.path_for("../../etc/passwd")


def test_atomic_write_leaves_the_old_file_when_serialisation_fails(tmp_path: Path) -> None:
    target = tmp_path / "d.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"v": object()})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from hsg_workstation.reporting.drafts import DraftStore
    from hsg_workstation.reporting.reference import example_report

    store = DraftStore(Path(sys.argv[1]))
    report = example_report("normal")
    store.watch(report)
    print(report.report_id, flush=True)
    i = 0
    while True:
        i += 1
        report.set_value("findings.other", f"edit {i}")
        if i == 25:
            print("ready", flush=True)
    """
)


@pytest.mark.timeout(60)
def test_draft_survives_kill_9_mid_typing(store: DraftStore) -> None:
    """A writer process saves on every edit in a tight loop; SIGKILL it at an arbitrary moment. The draft on
    disk must be complete, parse, and hold at least every edit acknowledged before the kill."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(store.directory)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        report_id = proc.stdout.readline().strip()
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)  # let it write many more versions
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    (info,) = store.recover()
    assert info.report_id == report_id and not info.error
    recovered = store.load(report_id)
    n = int(recovered.findings.other.split()[1])
    assert n >= 25
    assert recovered.findings.tubes.left.patency is m.Patency.PATENT
    assert not list(store.directory.glob(".*.tmp"))
