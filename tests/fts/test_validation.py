"""Bad transfer lists and options are refused before anything reaches FTS."""

from __future__ import annotations

import json

import pytest
from conftest import client, fts_jobs, transfers

from bmnflow.errors import InvalidInputError
from bmnflow.hooks.fts import transfer_batches

pytestmark = pytest.mark.gridsim


@pytest.fixture(scope="module")
def grid_and_rows(tmp_path_factory):
    from bmnflow.testing.gridsim import GridSim

    with GridSim(root=tmp_path_factory.mktemp("grid"), config={"fts": {"time_scale": 0}}) as grid:
        names = [f"run8/v{i}.data" for i in range(6)]
        yield grid, transfers(grid, "LHEP_ONLINE", "DLNP_DISK", names)


def refuse(grid, rows, options=None) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as caught:
        client(grid).transfer_step(transfer_batches(rows), "test/bad", json.dumps(options or {}))
    assert fts_jobs(grid) == [], "nothing may reach FTS"
    return caught.value


def test_each_bad_row_is_named_and_nothing_is_sent(grid_and_rows):
    grid, good = grid_and_rows
    rows = [dict(row) for row in good]
    rows[0]["sources"] = []
    rows[1]["destination"] = rows[1]["sources"][0]
    rows[2]["destination"] = "http//127.0.0.1/no/scheme"
    rows[3]["checksum"] = "ADLER32:12345"
    rows[4]["metadata"] = {"comment": "x" * 1100}

    error = refuse(grid, rows)

    invalid = {item["row"]: item["reason"] for item in error.details["invalid"]}
    assert sorted(invalid) == [0, 1, 2, 3, 4], invalid
    assert "no sources" in invalid[0]
    assert "equals its source" in invalid[1]
    assert "not a valid URL" in invalid[2]
    assert "8 hexadecimal digits" in invalid[3]
    assert "over FTS's 1024" in invalid[4]
    assert error.details["sent"] is False
    assert str(error).startswith("5 invalid transfer(s), nothing was sent")


def test_a_destination_used_twice_and_unknown_options_are_refused(grid_and_rows):
    grid, good = grid_and_rows
    twice = [good[0], {**good[1], "destination": good[0]["destination"]}]
    assert "also the destination of row 0" in str(refuse(grid, twice))

    assert "priorty" in str(refuse(grid, good, {"params": {"priorty": 5}}))
    assert "sid" in str(refuse(grid, good, {"params": {"sid": "mine"}}))
    big = {"job_metadata": {"comment": "y" * 1100}}
    assert "job_metadata" in str(refuse(grid, good, {"params": big}))
    assert "max_files_per_job" in str(refuse(grid, good, {"max_files_per_job": 0}))


def test_an_empty_list_and_a_misspelt_column_are_refused(grid_and_rows):
    grid, good = grid_and_rows
    assert "empty" in str(refuse(grid, []))
    misspelt = [{**good[0], "checksun": good[0]["checksum"]}]
    assert "checksun" in str(refuse(grid, misspelt))
