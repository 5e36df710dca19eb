"""Every validation error of a task spec is raised before a request is made: the client
points at a port where nothing listens, so any request would be a transport error."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from conftest import mc_spec

from bmnflow._core import PandaClient, render_task_spec, validate_task_spec
from bmnflow.errors import InvalidInputError


@pytest.fixture(scope="module")
def unreachable() -> PandaClient:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return PandaClient(f"http://127.0.0.1:{port}", retries=0, timeout=2.0)


def digi_spec(**overrides: Any) -> dict[str, Any]:
    spec = mc_spec(
        processing_type="digi",
        input_dataset="bmn.run8:raw.run8",
        job_parameters="--in ${IN} --out ${OUTPUT0}",
        split={"files_per_job": 2},
    )
    spec.update(overrides)
    return spec


CASES = {
    "unknown placeholder": (mc_spec(job_parameters="--out ${OUTPUT0} ${NEVENTS}"), "${NEVENTS}"),
    "undeclared output": (mc_spec(job_parameters="--out ${OUTPUT1}"), "${OUTPUT1}"),
    "input used without dataset": (
        mc_spec(job_parameters="--in ${IN} --out ${OUTPUT0}"),
        "no input_dataset",
    ),
    "dataset never used": (digi_spec(job_parameters="--out ${OUTPUT0}"), "never uses ${IN}"),
    "Monte Carlo without event counts": (mc_spec(split={"events_per_job": 10}), "total_events"),
    "files per job and GB per job": (
        digi_spec(split={"files_per_job": 2, "gb_per_job": 10}),
        "conflicting split rules",
    ),
    "max files below files per job": (
        digi_spec(split={"files_per_job": 5, "max_files_per_job": 4}),
        "max_files_per_job 4 < files_per_job 5",
    ),
    "dataset without scope": (mc_spec(output_dataset="evgen.run8"), "scope:name"),
    "name Rucio refuses": (mc_spec(log_dataset="bmn.mc:log run8"), "refused by Rucio"),
    "scope too long": (mc_spec(output_dataset=f"{'s' * 26}:evgen"), "Rucio scope"),
    "output file name Rucio refuses": (mc_spec(outputs=["evgen txt"]), "outputs[0]"),
    "unknown field": (mc_spec(nevents=10), "unknown field"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_specs_are_refused_before_any_request(unreachable: PandaClient, case: str) -> None:
    spec, fragment = CASES[case]
    with pytest.raises(InvalidInputError) as refused:
        unreachable.submit_spec(spec)
    assert fragment in str(refused.value)
    with pytest.raises(InvalidInputError):
        validate_task_spec(spec)


def test_a_valid_spec_renders_the_task_parameters() -> None:
    parameters = render_task_spec(digi_spec())
    assert parameters["uniqueTaskName"] is True
    assert parameters["nFilesPerJob"] == 2
    inputs = [p for p in parameters["jobParameters"] if p.get("param_type") == "input"]
    assert inputs[0]["dataset"] == "bmn.run8:raw.run8"
