"""``SplitJobsOperator`` listing its input from a Rucio dataset on the real Rucio server."""

from __future__ import annotations

import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bmnflow.hooks.rucio import RucioHook
from bmnflow.operators.split import SplitJobsOperator

pytestmark = pytest.mark.rucio

GIB = 1 << 30


def test_a_rucio_dataset_is_listed_and_split(
    rucio_conn: str, rucio_scope: str, tmp_path: Path
) -> None:
    dataset = f"{rucio_scope}:raw.run8200"
    names = [f"mpd_run_Top_8200_ev0_p{part}.data" for part in range(1, 6)]
    client = RucioHook(rucio_conn).client
    client.create_dataset(dataset)
    files = [
        {
            "name": name,
            "bytes": GIB,
            "adler32": f"{zlib.adler32(name.encode()):08x}",
            "events": 1000,
        }
        for name in names
    ]
    client.register_files(dataset, "LHEP_ONLINE", pa.Table.from_pylist(files))

    operator = SplitJobsOperator(
        task_id="split",
        dataset=dataset,
        output_folder=str(tmp_path),
        n_gb_per_job=2,
        rucio_conn_id=rucio_conn,
    )
    summary = operator.execute(context={})

    assert {k: summary[k] for k in ("jobs", "files", "events", "bytes")} == {
        "jobs": 3,
        "files": 5,
        "events": 5000,
        "bytes": 5 * GIB,
    }
    pieces = pq.read_table(summary["pieces"])
    assert pieces["job"].to_pylist() == [0, 0, 1, 1, 2]
    assert sorted(pieces["lfn"].to_pylist()) == names
