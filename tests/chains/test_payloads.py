"""The stand-in payloads conserve events from RAW to DST and are reproducible by seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = 8123
PARTS = 3
EVENTS_PER_PART = 40


@pytest.fixture
def online(tmp_path: Path, run_payload) -> Path:
    """An online storage folder holding one closed run."""
    storage = tmp_path / "lhep_online"
    run_payload(
        "bmn_daq.py",
        "--run", RUN, "--parts", PARTS, "--events-per-part", EVENTS_PER_PART,
        "--storage", storage, "--seed", 5,
        cwd=tmp_path,
    )  # fmt: skip
    return storage


def marker_of(storage: Path) -> dict:
    return json.loads((storage / "daq" / "run8" / f"run_{RUN}.complete").read_text())


def raw_files(storage: Path) -> list[Path]:
    return [
        storage / f["path"] for f in sorted(marker_of(storage)["files"], key=lambda f: f["name"])
    ]


def test_daq_writes_named_parts_at_rucio_hash_paths_and_a_marker(online: Path, payloads: Path):
    import bmnio

    marker = marker_of(online)
    names = [f["name"] for f in marker["files"]]
    assert names == [f"mpd_run_Top_{RUN}_ev0_p{p}.data" for p in range(PARTS)]
    for entry in marker["files"]:
        path = online / entry["path"]
        assert entry["path"].startswith("bmn.run8/")
        assert entry["bytes"] == path.stat().st_size
        assert entry["adler32"] == bmnio.adler32_of(path)
        assert entry["events"] == EVENTS_PER_PART
    # No partial file is left behind by the atomic writes.
    assert not [p for p in online.rglob(".*.part")]


def test_daq_output_depends_only_on_run_and_seed(tmp_path: Path, online: Path, run_payload):
    again = tmp_path / "again"
    other = tmp_path / "other"
    common = ["--run", RUN, "--parts", PARTS, "--events-per-part", EVENTS_PER_PART]
    run_payload("bmn_daq.py", *common, "--storage", again, "--seed", 5, cwd=tmp_path)
    run_payload("bmn_daq.py", *common, "--storage", other, "--seed", 6, cwd=tmp_path)

    first = [p.read_bytes() for p in raw_files(online)]
    assert [p.read_bytes() for p in raw_files(again)] == first
    assert [p.read_bytes() for p in raw_files(other)] != first


def test_every_raw_event_reaches_the_dst_exactly_once(
    tmp_path: Path, online: Path, payloads, run_payload
):
    import bmnio

    raws = raw_files(online)
    raw_ids = [i for path in raws for i in bmnio.event_ids_of(path)]
    assert len(raw_ids) == len(set(raw_ids)) == PARTS * EVENTS_PER_PART

    # Jobs of 35 events over 3 files of 40, as PanDA cuts them with nEventsPerJob: a job may
    # end inside one file and the next one start there.
    dst_ids: list[int] = []
    per_job = 35
    total = PARTS * EVENTS_PER_PART
    for job, first in enumerate(range(0, total, per_job)):
        file_index, skip = divmod(first, EVENTS_PER_PART)
        inputs = ",".join(str(p) for p in raws[file_index:])
        digi, dst = tmp_path / f"job{job}.digi", tmp_path / f"job{job}.dst"
        counts = run_payload(
            "raw_to_digi.py", "--input", inputs, "--output", digi,
            "--skip-events", skip, "--max-events", per_job, "--seed", 9,
            cwd=tmp_path,
        )  # fmt: skip
        assert counts["events_out"] == min(per_job, total - first)
        run_payload("digi_to_dst.py", "--input", digi, "--output", dst, cwd=tmp_path)
        dst_ids += bmnio.event_ids_of(dst)

    assert sorted(dst_ids) == sorted(raw_ids)
    # Every DST event names the RAW file it came from.
    _, records = bmnio.read_lines(tmp_path / "job0.dst", "BMNDST")
    assert {r["origin"] for r in records} == {raws[0].name}


def test_processing_is_reproducible_by_seed(tmp_path: Path, online: Path, run_payload):
    raw = raw_files(online)[0]

    def digi(name: str, seed: int) -> bytes:
        output = tmp_path / name
        run_payload(
            "raw_to_digi.py", "--input", raw, "--output", output, "--seed", seed, cwd=tmp_path
        )
        return output.read_bytes()

    assert digi("a.digi", 1) == digi("b.digi", 1)
    assert digi("a.digi", 1) != digi("c.digi", 2)


def test_sidecar_counts_match_the_output(tmp_path: Path, online: Path, payloads: Path, run_payload):
    import bmnio

    output = tmp_path / "p0.digi"
    printed = run_payload(
        "raw_to_digi.py", "--input", raw_files(online)[0], "--output", output, cwd=tmp_path
    )
    sidecar = json.loads((tmp_path / "p0.digi.events.json").read_text())
    assert sidecar == printed
    assert sidecar["events_out"] == len(bmnio.event_ids_of(output)) == EVENTS_PER_PART
    assert sidecar["adler32"] == bmnio.adler32_of(output)


def test_monte_carlo_events_do_not_depend_on_the_job_size(
    tmp_path: Path, payloads: Path, run_payload
):
    import bmnio

    whole = tmp_path / "whole.gen"
    run_payload(
        "mc_generate.py", "--first-event", 1, "--max-events", 20, "--seed", 11,
        "--output", whole, cwd=tmp_path,
    )  # fmt: skip
    pieces = []
    for first in (1, 8, 15):
        piece = tmp_path / f"piece{first}.gen"
        count = min(7, 21 - first)
        run_payload(
            "mc_generate.py", "--first-event", first, "--max-events", count, "--seed", 11,
            "--output", piece, cwd=tmp_path,
        )  # fmt: skip
        pieces += bmnio.read_lines(piece, "BMNGEN")[1]
    assert pieces == bmnio.read_lines(whole, "BMNGEN")[1]

    digi, dst = tmp_path / "whole.digi", tmp_path / "whole.dst"
    run_payload("mc_simdigi.py", "--input", whole, "--output", digi, "--seed", 11, cwd=tmp_path)
    counts = run_payload("mc_reco.py", "--input", digi, "--output", dst, cwd=tmp_path)
    assert counts["events_out"] == 20
    assert bmnio.event_ids_of(dst) == list(range(1, 21))


def test_damaged_raw_file_fails_the_job_with_a_clear_error(
    tmp_path: Path, online: Path, payloads: Path
):
    damaged = tmp_path / "damaged.data"
    data = bytearray(raw_files(online)[0].read_bytes())
    data[100] ^= 0xFF
    damaged.write_bytes(bytes(data))

    result = subprocess.run(
        [sys.executable, str(payloads / "raw_to_digi.py"), "--input", str(damaged),
         "--output", str(tmp_path / "x.digi")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "CRC mismatch" in result.stderr
    assert not (tmp_path / "x.digi").exists()
