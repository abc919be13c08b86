"""Fuzz campaign: mutated DICOM files through every entry point a user can feed a file to.

    python benchmarks/fuzz.py --inputs N --seed S [--time-limit 30] [--memory-mb 3072] [--workdir DIR]

Seeds: the bundled sample data (scout, spot image), a small fill-sequence loop from the project's generator, an
SR / KOS / Encapsulated PDF exported from the sample report, and pydicom's test files (``pydicom.data`` and the
``pydicom-data`` package: JPEG, JPEG 2000, JPEG-LS, RLE, deflate, big endian, SR, RT ...).

Mutations (one to three stacked per input): bit flips, truncation, element mutation found by scanning the bytes
for explicit-VR element headers (VR replaced, length field set to 0 / odd / huge / undefined, value replaced by a
hostile one such as ``1e308``, ``NaN``, ``-1``, 64 backslashes), header fields rewritten with pydicom (Number of
Frames 10⁸, Rows/Columns 0 or 65535, Bits Allocated 0/3/64, Pixel Spacing 1e308, a VR-corrupt calibration),
nested sequences 50-1 500 levels deep, and a splice of two seeds. The header-field mutation parses and writes the
input with pydicom, which can loop without bound on hostile data, so it runs in a forked child under its own
memory and time limit (a failure becomes a byte-level mutation, counted in ``mutator_fallbacks``).

Each input runs in a forked child process under ``RLIMIT_AS`` (``--memory-mb``) and a wall-clock limit
(``--time-limit``), through five targets in turn:

* ``import`` — the CLI ``import --json`` into a fresh database, then a data-loss check: every "imported" instance
  is in the index and its stored file is byte-identical to the source; the database opens again afterwards;
* ``pixels`` — the viewer's pixel path: ``dicom_io.pixels.FrameSource`` (header validation), then the first /
  middle / last frame rendered with the default VOI, the file's VOI presets, calibration and frame timing;
* ``export-image``, ``analyze --json``, ``report import`` — the CLI commands as a user runs them.

Each (input, target) is classed as ``accepted`` (exit 0), ``clean_refusals`` (a one-line message, exit 1 — the
CLI's or an ``HsgError``), ``tracebacks`` (a Python traceback or the CLI's "internal error" = an unexpected
exception), ``out_of_memory`` (a clean "out of memory" under the limit), ``crashes`` (the child died: a signal
or a native abort), ``hangs`` (over the time limit; the child is killed) or ``data_lost`` (the source changed,
an "imported" instance is not stored intact, or a truncated SR imported with exit 0). Crashes and hangs end the child, so they count once per input.
The source file's SHA-256 is compared before and after every child.

Prints ONE JSON object on stdout: ``inputs``, ``executions`` (= inputs × targets run), ``accepted``,
``clean_refusals``, ``tracebacks``, ``crashes``, ``hangs``, ``data_lost``, ``out_of_memory``, counts per target
and per mutation, and up to ``--examples`` examples per non-clean class with the reproducer saved under
``WORKDIR/findings/<class>/`` (WORKDIR is kept when there is a finding or ``--keep`` is given).
"""

from __future__ import annotations

import os

# Before numpy loads: one BLAS / analysis thread per child (the campaign runs children one at a time).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["HSG_ANALYSIS_THREADS"] = "1"
os.environ.pop("HSG_DEBUG", None)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import pydicom  # noqa: E402
from pydicom.data import get_testdata_file  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hsg_workstation.__main__ import main as cli_main  # noqa: E402
from hsg_workstation.dicom_io import pixels  # noqa: E402
from hsg_workstation.dicom_io.calibration import calibration_from_dataset  # noqa: E402
from hsg_workstation.dicom_io.database import LocalDatabase  # noqa: E402
from hsg_workstation.dicom_io.timing import frame_timing  # noqa: E402
from hsg_workstation.errors import HsgError  # noqa: E402

TARGETS = ("import", "pixels", "export-image", "analyze", "report-import")
CLASSES = ("accepted", "clean_refusals", "tracebacks", "out_of_memory", "crashes", "hangs", "data_lost")
PYDICOM_SEEDS = (
    "CT_small.dcm",
    "MR_small.dcm",
    "JPEG2000.dcm",
    "emri_small_RLE.dcm",
    "SC_rgb_rle.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "rtplan.dcm",
    "image_dfl.dcm",
    "SC_ybr_full_uncompressed.dcm",
    "liver.dcm",
    "emri_small.dcm",
    "SC_rgb_small_odd.dcm",
    "JPGExtended.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "MR_truncated.dcm",
    "ExplVR_BigEnd.dcm",
    "reportsi.dcm",
    "test-SR.dcm",
    "JPEG-LL.dcm",
)
_VRS = (
    b"AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OW PN SH SL SQ SS ST TM UC UI UL UN UR US UT OV SV UV"
).split()
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"OV", b"SV", b"UV"}
_ELEMENT = re.compile(rb"(?s)(..)(..)(" + b"|".join(_VRS) + rb")")
_HOSTILE_TEXT = (
    b"1e308",
    b"-1e308",
    b"NaN",
    b"inf",
    b"-1",
    b"0",
    b"999999999",
    b"4294967296",
    b"1\\2\\3\\4\\5",
    b"\\" * 64,
    b"",
    b"\xff\xfe\x00",
    b"-0",
    b"1" * 64,
)


# ------------------------------------------------------------------------------------------------------------
# Seeds
# ------------------------------------------------------------------------------------------------------------


def build_seeds(seed_dir: Path) -> list[Path]:
    """Copy / make the seed files into ``seed_dir`` (sample data, a small generated loop, exported SR objects,
    pydicom's test files)."""
    from hsg_workstation.cli.report import read_report_json
    from hsg_workstation.reporting.export import export_all
    from hsg_workstation.synthetic.study import generate_case

    seed_dir.mkdir(parents=True, exist_ok=True)
    seeds: list[Path] = []
    sample = ROOT / "sample_data" / "normal"
    for name in ("01_scout.dcm", "03_spot_2_full_distension.dcm"):
        if (sample / name).exists():
            seeds.append(Path(shutil.copy2(sample / name, seed_dir / f"sample_{name}")))
    loop_dir = generate_case("bilateral_distal_hydrosalpinx", seed=3, size=64, frames=10).write(
        seed_dir / "gen"
    )
    seeds.extend(sorted(loop_dir.glob("*.dcm")))
    if (sample / "report.json").exists():
        report = read_report_json(sample / "report.json")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export_all(
                report, sample, sr_path=seed_dir / "sample_sr.dcm", kos_path=seed_dir / "sample_kos.dcm"
            )
        seeds.extend([seed_dir / "sample_sr.dcm", seed_dir / "sample_kos.dcm"])
    for name in PYDICOM_SEEDS:
        try:
            path = get_testdata_file(name)
        except Exception:  # noqa: BLE001 - a test file missing from this pydicom version is simply not used
            path = None
        if path:
            seeds.append(Path(shutil.copy2(path, seed_dir / f"pydicom_{name}")))
    return seeds


# ------------------------------------------------------------------------------------------------------------
# Mutations
# ------------------------------------------------------------------------------------------------------------


def _bitflip(rng: random.Random, data: bytes, _seeds: list[Path]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        limit = len(buf) if rng.random() < 0.3 else min(len(buf), 4096)
        pos = rng.randrange(max(1, limit))
        buf[pos] ^= 1 << rng.randrange(8)
    return bytes(buf)


def _truncate(rng: random.Random, data: bytes, _seeds: list[Path]) -> bytes:
    if rng.random() < 0.5:
        return data[: rng.randrange(max(1, min(len(data), 4096)))]
    return data[: rng.randrange(max(1, len(data)))]


def _element(rng: random.Random, data: bytes, _seeds: list[Path]) -> bytes:
    """Mutate one explicit-VR element header or value found by scanning the bytes."""
    hits = [m for m in _ELEMENT.finditer(data[:200_000]) if m.start() >= 128]
    if not hits:
        return _bitflip(rng, data, _seeds)
    m = rng.choice(hits)
    vr = m.group(3)
    start = m.start()
    long_form = vr in _LONG_VRS
    header_len = 12 if long_form else 8
    if long_form:
        (length,) = struct.unpack_from("<I", data, start + 8) if start + 12 <= len(data) else (0,)
    else:
        (length,) = struct.unpack_from("<H", data, start + 6) if start + 8 <= len(data) else (0,)
    choice = rng.randrange(3)
    if choice == 0:  # another VR (same header length, so the rest of the file still lines up sometimes)
        new_vr = rng.choice(_VRS)
        return data[: start + 4] + new_vr + data[start + 6 :]
    if choice == 1:  # the length field
        if long_form:
            value = rng.choice((0, 1, 3, 0xFFFFFFFF, 0xFFFFFFF0, 0x7FFFFFFF, length + 2, max(0, length - 1)))
            value &= 0xFFFFFFFF
            return data[: start + 8] + struct.pack("<I", value) + data[start + 12 :]
        value = rng.choice((0, 1, 3, 0xFFFF, 0xFFF0, length + 2, max(0, length - 1))) & 0xFFFF
        return data[: start + 6] + struct.pack("<H", value) + data[start + 8 :]
    # the value: a hostile one, with the length field following it
    if vr in (b"US", b"SS"):
        new = struct.pack("<H", rng.choice((0, 1, 3, 0x7FFF, 0xFFFF)))
    elif vr in (b"UL", b"SL"):
        new = struct.pack("<I", rng.choice((0, 1, 0x7FFFFFFF, 0xFFFFFFFF)))
    elif vr in (b"FD",):
        new = struct.pack("<d", rng.choice((float("nan"), float("inf"), -1e308, 1e308, 0.0)))
    elif vr in (b"FL",):
        new = struct.pack("<f", rng.choice((float("nan"), float("inf"), -3e38, 0.0)))
    else:
        new = rng.choice(_HOSTILE_TEXT)
    if len(new) % 2:
        new += b" "
    if long_form:
        head = data[: start + 8] + struct.pack("<I", len(new))
    else:
        head = data[: start + 6] + struct.pack("<H", min(len(new), 0xFFFF))
    end = start + header_len + (length if length not in (0xFFFFFFFF,) else 0)
    return head + new + data[min(end, len(data)) :]


# Header fields rewritten through pydicom: the values issue 16 found trouble with, and their relatives.
_FIELDS: tuple[tuple[str, tuple[object, ...]], ...] = (
    ("NumberOfFrames", ("100000000", "2000000000", "0", "-5", "1000000", "abc")),
    ("Rows", (0, 1, 65535)),
    ("Columns", (0, 1, 65535)),
    ("BitsAllocated", (0, 1, 3, 64)),
    ("BitsStored", (0, 17, 64)),
    ("HighBit", (0, 40)),
    ("SamplesPerPixel", (0, 2, 4)),
    ("PixelRepresentation", (1, 7)),
    ("PhotometricInterpretation", ("PALETTE COLOR", "YBR_FULL_422", "BOGUS", "")),
    ("PixelSpacing", (["1e308", "1e308"], ["0", "0"], ["-1", "1"], ["NaN", "1"])),
    ("ImagerPixelSpacing", (["1e308", "1e308"], ["0", "0"])),
    ("WindowCenter", ("1e308", "NaN", "-1e308")),
    ("WindowWidth", ("0", "-5", "1e308", "NaN")),
    ("RescaleSlope", ("0", "1e308", "NaN")),
    ("RescaleIntercept", ("1e308", "-1e308")),
    ("FrameTime", ("0", "-1", "1e308", "NaN")),
    ("CineRate", (0, 100000)),
    ("PatientOrientation", (["", ""], ["X", "Y"], ["L"])),
)


def _field(rng: random.Random, data: bytes, seeds: list[Path]) -> bytes:
    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
        name, values = rng.choice(_FIELDS)
        value = rng.choice(values)
        if rng.random() < 0.2 and isinstance(value, str):
            # A VR-corrupt element: bytes that do not match the VR at all.
            ds.add_new(pydicom.datadict.tag_for_keyword(name), "DS", "1\\x\\" + value)
        else:
            setattr(ds, name, value)
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=False)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - pydicom cannot rewrite this one: fall back to a byte-level mutation
        return _element(rng, data, seeds)


def _nest(rng: random.Random, data: bytes, _seeds: list[Path]) -> bytes:
    """A sequence nested 50-1 500 levels deep (undefined lengths), inserted before Pixel Data or at the end."""
    depth = rng.choice((50, 200, 600, 1100, 1500))
    tag = rng.choice(((0x0040, 0xA730), (0x0008, 0x1115), (0x5200, 0x9230)))
    open_sq = struct.pack("<HH", *tag) + b"SQ\x00\x00" + b"\xff\xff\xff\xff"
    item = b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    value_type = struct.pack("<HH", 0x0040, 0xA040) + b"CS" + struct.pack("<H", 10) + b"CONTAINER "
    item_end = b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
    seq_end = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    blob = (open_sq + item + value_type) * depth + (item_end + seq_end) * depth
    where = data.rfind(b"\xe0\x7f\x10\x00")
    if where < 132:
        where = len(data)
    return data[:where] + blob + data[where:]


def _splice(rng: random.Random, data: bytes, seeds: list[Path]) -> bytes:
    other = rng.choice(seeds).read_bytes()
    cut_a = rng.randrange(132, max(133, len(data)))
    cut_b = rng.randrange(132, max(133, len(other)))
    return data[:cut_a] + other[cut_b:]


#: Limits for a mutator that parses the input with pydicom (``_field``), run in a forked process.
MUTATOR_MEMORY_BYTES = 1024 * 2**20
MUTATOR_SECONDS = 20.0
mutator_fallbacks = 0  # inputs whose pydicom rewrite failed its limits and became a byte-level mutation


def _guarded_field(rng: random.Random, data: bytes, seeds: list[Path]) -> bytes:
    """:func:`_field` in a forked child under a memory and a time limit, its result read back through a pipe.

    Why: pydicom writing back a hostile dataset can loop while allocating without bound — with seed 24,
    input 9 792 (MR_small + nest + element, then Columns 65535) grew the campaign's own process to 24 GB until the
    kernel killed it, 9 792 inputs in and no JSON written. The workstation never writes such a file (every read
    path refuses it: "image without Pixel Data"); the mutator does. A mutator that fails its limits gives a
    byte-level mutation of the same data instead (counted as ``mutator_fallbacks``). The child's choices come
    from a sub-seed drawn here, so the input sequence stays a function of ``--seed``."""
    global mutator_fallbacks
    sub = rng.getrandbits(64)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: mutate, write the bytes, exit without running any exit handler of the parent
        code = 1
        try:
            os.close(read_end)
            resource.setrlimit(resource.RLIMIT_AS, (MUTATOR_MEMORY_BYTES, MUTATOR_MEMORY_BYTES))
            out = _field(random.Random(sub), data, seeds)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(out)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + MUTATOR_SECONDS
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([pipe], [], [], left)[0]:
                continue
            chunk = pipe.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        else:
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return b"".join(chunks)
    mutator_fallbacks += 1
    return _element(random.Random(sub), data, seeds)


MUTATIONS: dict[str, Callable[[random.Random, bytes, list[Path]], bytes]] = {
    "bitflip": _bitflip,
    "truncate": _truncate,
    "element": _element,
    "field": _guarded_field,
    "nest": _nest,
    "splice": _splice,
}
_WEIGHTS = {"bitflip": 3, "truncate": 2, "element": 4, "field": 4, "nest": 1, "splice": 1}


def mutate(rng: random.Random, seeds: list[Path]) -> tuple[bytes, str, str]:
    """``(bytes, seed name, mutation names)`` for one input."""
    seed = rng.choice(seeds)
    data = seed.read_bytes()
    names = rng.choices(list(_WEIGHTS), weights=list(_WEIGHTS.values()), k=rng.choice((1, 1, 1, 2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's complaints about the hostile values we write on purpose
        for name in names:
            try:
                data = MUTATIONS[name](rng, data, seeds)
            except (struct.error, ValueError, OverflowError):  # a mutator's own arithmetic: flip bits instead
                data = _bitflip(rng, data, seeds)
    return data, seed.name, "+".join(names)


def signature(target: str, message: str) -> str:
    """A short key grouping findings of the same kind: target + exception name (or the message's start)."""
    found = re.search(r"\b([A-Z][A-Za-z]*(?:Error|Exception|Overflow))\b", message)
    return f"{target}: {found.group(1) if found else message[:60]}"


# ------------------------------------------------------------------------------------------------------------
# The child: every target on one input
# ------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _captured(out_path: Path, err_path: Path):
    """Point file descriptors 1 and 2 (so native libraries' output too) at files for the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _class_of_cli(rc: int, err: str) -> str:
    if "Traceback (most recent call last)" in err or rc == 70 or "internal error:" in err:
        return "tracebacks"
    if "out of memory" in err:
        return "out_of_memory"
    if rc == 0:
        return "accepted"
    if rc in (1, 2, 3):
        return "clean_refusals"
    return "tracebacks"


def _run_cli(argv: list[str], work: Path, name: str) -> tuple[str, str, str]:
    out, err = work / f"{name}.out", work / f"{name}.err"
    with _captured(out, err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rc = cli_main(argv)
        except SystemExit as exc:  # argparse
            rc = int(exc.code or 0)
    text = err.read_text(errors="replace")
    return (
        _class_of_cli(rc, text),
        text.strip().splitlines()[-1] if text.strip() else "",
        out.read_text(errors="replace"),
    )


def _target_import(path: Path, work: Path) -> tuple[str, str]:
    data_dir = work / "db"
    cls, last, out = _run_cli(["--data-dir", str(data_dir), "import", "--json", str(path)], work, "import")
    if cls != "accepted":
        return cls, last
    try:
        results = json.loads(out)
    except json.JSONDecodeError:
        return "tracebacks", f"import --json printed no JSON: {out[:200]!r}"
    source = hashlib.sha256(path.read_bytes()).hexdigest()
    with LocalDatabase(data_dir) as db:
        for r in results:
            if r["status"] != "imported":
                continue
            if not db.has_instance(r["sop_instance_uid"]):
                return "data_lost", f"imported {r['sop_instance_uid']} is not in the index"
            stored = [p for p in (data_dir / "store").rglob("*") if p.is_file()]
            if not any(hashlib.sha256(p.read_bytes()).hexdigest() == source for p in stored):
                return "data_lost", "imported file is not stored byte-identical"
        db.studies()  # the database still answers
    status = ",".join(sorted({r["status"] for r in results}))
    return ("accepted" if "imported" in status else "clean_refusals"), status


def _target_pixels(path: Path, work: Path) -> tuple[str, str]:
    with _captured(work / "pixels.out", work / "pixels.err"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            source = pixels.FrameSource(path)
            n = source.number_of_frames
            for index in sorted({0, n // 2, n - 1}):
                source.voi_presets(index)
                source.render_uint8(index)
            calibration_from_dataset(source.header)
            frame_timing(source.header)
        except HsgError as exc:
            return "clean_refusals", str(exc)[:300]
        except MemoryError:
            return "out_of_memory", "MemoryError"
        except Exception as exc:  # noqa: BLE001 - exactly what the campaign looks for
            return "tracebacks", f"{type(exc).__name__}: {exc}"[:300]
    return "accepted", ""


def _target_export_image(path: Path, work: Path) -> tuple[str, str]:
    cls, last, _ = _run_cli(["export-image", str(path), str(work / "out.png")], work, "export")
    return cls, last


def _target_analyze(path: Path, work: Path) -> tuple[str, str]:
    cls, last, _ = _run_cli(["analyze", "--json", str(path)], work, "analyze")
    return cls, last


def _target_report_import(path: Path, work: Path) -> tuple[str, str]:
    cls, last, _ = _run_cli(["report", "import", str(path)], work, "report")
    return cls, last


RUNNERS = {
    "import": _target_import,
    "pixels": _target_pixels,
    "export-image": _target_export_image,
    "analyze": _target_analyze,
    "report-import": _target_report_import,
}


def child(path: Path, work: Path, targets: tuple[str, ...], memory_bytes: int) -> None:
    """Runs in the forked child: every target in turn, results appended to ``work/results.jsonl``."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with open(work / "results.jsonl", "a", encoding="utf-8") as log:
        for target in targets:
            log.write(json.dumps({"started": target}) + "\n")
            log.flush()
            try:
                cls, detail = RUNNERS[target](path, work)
            except MemoryError:
                cls, detail = "out_of_memory", "MemoryError in the harness"
            except Exception as exc:  # noqa: BLE001
                cls, detail = "tracebacks", f"{type(exc).__name__}: {exc}"[:300]
            log.write(json.dumps({"target": target, "class": cls, "detail": detail}) + "\n")
            log.flush()


def run_one(
    path: Path, work: Path, targets: tuple[str, ...], memory_bytes: int, time_limit: float
) -> tuple[list[dict], str | None, str]:
    """Fork a child for one input. Returns (per-target results, whole-child problem or None, detail)."""
    work.mkdir(parents=True, exist_ok=True)
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            child(path, work, targets, memory_bytes)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + time_limit
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        status = None
    lines = []
    log = work / "results.jsonl"
    if log.exists():
        lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = [line for line in lines if "class" in line]
    started = [line["started"] for line in lines if "started" in line]
    current = started[-1] if len(started) > len(results) else ""
    if status is None:
        return results, "hangs", f"over {time_limit:g} s in {current or '?'}"
    if os.WIFSIGNALED(status):
        return results, "crashes", f"signal {signal.Signals(os.WTERMSIG(status)).name} in {current or '?'}"
    if os.WEXITSTATUS(status) != 0 or len(results) < len(targets):
        return results, "crashes", f"exit {os.WEXITSTATUS(status)} in {current or '?'}"
    return results, None, ""


# ------------------------------------------------------------------------------------------------------------
# Campaign
# ------------------------------------------------------------------------------------------------------------


def _is_sr(path: Path) -> bool:
    try:
        uid = str(pydicom.dcmread(path, stop_before_pixels=True).get("SOPClassUID", ""))
    except Exception:  # noqa: BLE001
        return False
    return uid.startswith("1.2.840.10008.5.1.4.1.1.88.")


def warm_up(seeds: list[Path], workdir: Path, targets: tuple[str, ...]) -> None:
    """Run every target once on the unmutated seeds in this process, so the modules they load on first use
    (decoders, the SR reader, the analysis, Pillow) are loaded before the fork and not again in every child."""
    for number, seed in enumerate(seeds):
        work = workdir / "warm-up" / str(number)
        work.mkdir(parents=True, exist_ok=True)
        for target in targets:
            with contextlib.suppress(Exception):
                RUNNERS[target](seed, work)
    shutil.rmtree(workdir / "warm-up", ignore_errors=True)


def _default_workdir() -> Path:
    """A new folder in RAM when there is one (the import target fsyncs every file), else in the temp dir."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="hsg-fuzz-", dir=base))


def campaign(args: argparse.Namespace) -> dict:
    workdir = Path(args.workdir) if args.workdir else _default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    # A backstop for the campaign's own process on a shared machine: a runaway here is a MemoryError in this
    # process, not the kernel's OOM killer choosing among everyone's processes (children set their own limit).
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (min(8 * 2**30, hard) if hard > 0 else 8 * 2**30, hard))
    seeds = build_seeds(workdir / "seeds")
    sr_seeds = {p.name for p in seeds if _is_sr(p)}
    targets = tuple(args.targets)
    warm_up(seeds, workdir, targets)
    rng = random.Random(args.seed)
    totals: Counter[str] = Counter()
    by_target: dict[str, Counter[str]] = defaultdict(Counter)
    by_mutation: dict[str, Counter[str]] = defaultdict(Counter)
    examples: dict[str, list[dict]] = defaultdict(list)
    distinct: dict[str, Counter[str]] = defaultdict(Counter)
    started = time.monotonic()
    inputs = 0
    for number in range(args.inputs):
        if args.max_seconds and time.monotonic() - started > args.max_seconds:
            break
        data, seed_name, mutation = mutate(rng, seeds)
        case = workdir / "run" / f"{number:06d}"
        case.mkdir(parents=True, exist_ok=True)
        path = case / "input.dcm"
        path.write_bytes(data)
        before = hashlib.sha256(data).hexdigest()
        results, problem, detail = run_one(path, case, targets, args.memory_mb * 2**20, args.time_limit)
        inputs += 1
        found: list[tuple[str, str, str]] = [(r["class"], r["target"], r["detail"]) for r in results]
        if seed_name in sr_seeds and "truncate" in mutation.split("+"):
            # A truncated SR cannot hold all of its content: importing it with exit 0 loses findings silently.
            found = [
                ("data_lost", t, "a truncated SR was imported with exit 0 (content lost without a word)")
                if t == "report-import" and c == "accepted"
                else (c, t, d)
                for c, t, d in found
            ]
        if problem:
            found.append((problem, detail.rsplit(" in ", 1)[-1], detail))
        if hashlib.sha256(path.read_bytes()).hexdigest() != before:
            found.append(("data_lost", "source", "the source file was modified"))
        for cls, target, text in found:
            totals[cls] += 1
            by_target[target][cls] += 1
            by_mutation[mutation.split("+")[0]][cls] += 1
            if cls in ("accepted", "clean_refusals"):
                continue
            distinct[cls][signature(target, text)] += 1
            kept = workdir / "findings" / cls / f"{number:06d}-{target}-{seed_name}"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, kept)
            if len(examples[cls]) < args.examples:
                examples[cls].append(
                    {
                        "reproducer": str(kept),
                        "target": target,
                        "seed": seed_name,
                        "mutation": mutation,
                        "message": text,
                    }
                )
        shutil.rmtree(case, ignore_errors=True)
    bad = sum(totals[c] for c in ("tracebacks", "crashes", "hangs", "data_lost"))
    if not bad and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    return {
        "inputs": inputs,
        "seed": args.seed,
        "targets": list(targets),
        "executions": sum(totals.values()),
        **{c: totals[c] for c in CLASSES},
        "by_target": {t: dict(by_target[t]) for t in sorted(by_target)},
        "by_mutation": {m: dict(by_mutation[m]) for m in sorted(by_mutation)},
        "distinct": {c: dict(distinct[c].most_common()) for c in sorted(distinct)},
        "examples": dict(examples),
        "mutator_fallbacks": mutator_fallbacks,
        "seeds": len(seeds),
        "memory_limit_mb": args.memory_mb,
        "time_limit_s": args.time_limit,
        "seconds": round(elapsed, 1),
        "inputs_per_s": round(inputs / elapsed, 2) if elapsed else None,
        "workdir": str(workdir) if workdir.exists() else None,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, default=300, help="number of mutated inputs (default 300)")
    p.add_argument("--seed", type=int, default=0, help="random seed: the same seed gives the same inputs")
    p.add_argument(
        "--time-limit", type=float, default=60.0, help="seconds per input, all targets (default 60)"
    )
    p.add_argument("--memory-mb", type=int, default=3072, help="address-space limit per child (default 3072)")
    p.add_argument("--max-seconds", type=float, default=0, help="stop starting new inputs after this long")
    p.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    p.add_argument("--examples", type=int, default=5, help="examples kept per class in the JSON (default 5)")
    p.add_argument("--workdir", help="where seeds, runs and findings go (default: a new temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the work folder even without findings")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    summary = campaign(parse_args(argv))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
