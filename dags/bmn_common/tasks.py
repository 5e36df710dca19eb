"""PanDA task specifications of the BM@N stages, for ``PandaSubmitTaskOperator``.

Each job runs one payload of ``dags/payloads`` (a BmnRoot macro in production) with its
arguments expanded by PanDA from the template. The specs follow bmnflow's typed task spec:
name, VO, processing type, transformation, datasets, job parameters, split.
"""

from __future__ import annotations

from typing import Any

from bmn_common.naming import (
    log_dataset,
    mc_dataset,
    mc_log_dataset,
    run_dataset,
    run_task_name,
)
from bmn_common.settings import MC_SCOPE, PAYLOADS, PERIOD, SITE, VO

#: The payload and processing type of each real-data stage, by its output stage.
RUN_STAGES = {
    "digi": ("raw", "raw_to_digi.py", "digi"),
    "dst": ("digi", "digi_to_dst.py", "reco"),
}
#: The Monte Carlo steps in order: output step -> (input step, payload, processing type).
MC_STEPS = {
    "gen": (None, "mc_generate.py", "mcgen"),
    "digi": ("gen", "mc_simdigi.py", "simul"),
    "dst": ("digi", "mc_reco.py", "reco"),
}


def run_stage_task(stage: str, run: int, *, files_per_job: int = 1, seed: int = 0) -> dict:
    """The task that turns a run's dataset of the previous stage into its ``stage`` dataset,
    one job per ``files_per_job`` input files."""
    if stage not in RUN_STAGES:
        raise ValueError(f"no processing task makes {stage!r}; expected one of {[*RUN_STAGES]}")
    if files_per_job < 1:
        raise ValueError(f"files_per_job must be at least 1, got {files_per_job}")
    source, payload, processing = RUN_STAGES[stage]
    return _spec(
        name=run_task_name(stage, run),
        processing_type=processing,
        payload=payload,
        input_dataset=run_dataset(source, run),
        output_dataset=run_dataset(stage, run),
        log_dataset=log_dataset(stage, run),
        output_type=stage,
        job_parameters=f"--input ${{IN}} --output ${{OUTPUT0}} --seed {seed}",
        split={"files_per_job": files_per_job},
        campaign=PERIOD,
    )


def mc_step_task(
    sample: str, step: str, *, total_events: int, events_per_job: int, seed: int
) -> dict:
    """One Monte Carlo step of ``sample``. Generation makes ``total_events`` events in jobs
    of ``events_per_job``; each later step takes one file of the step before per job. Every
    event depends only on its number and ``seed``, so a sample is reproducible whatever its
    job size."""
    if step not in MC_STEPS:
        raise ValueError(f"unknown Monte Carlo step {step!r}; expected one of {[*MC_STEPS]}")
    if total_events < 1 or not 1 <= events_per_job <= total_events:
        raise ValueError("need 1 <= events_per_job <= total_events")
    source, payload, processing = MC_STEPS[step]
    if source is None:
        parameters = (
            f"--first-event ${{FIRSTEVENT}} --max-events ${{MAXEVENTS}} --seed {seed} "
            "--output ${OUTPUT0}"
        )
        split: dict[str, Any] = {"events_per_job": events_per_job, "total_events": total_events}
    else:
        parameters = f"--input ${{IN}} --output ${{OUTPUT0}} --seed {seed}"
        split = {"files_per_job": 1}
    return _spec(
        name=f"bmn.mc.{sample}.{step}",
        processing_type=processing,
        payload=payload,
        input_dataset=mc_dataset(sample, source) if source else None,
        output_dataset=mc_dataset(sample, step),
        log_dataset=mc_log_dataset(sample, step),
        output_type=step,
        job_parameters=parameters,
        split=split,
        campaign=MC_SCOPE,
    )


def _spec(
    *,
    name: str,
    processing_type: str,
    payload: str,
    input_dataset: str | None,
    output_dataset: str,
    log_dataset: str,
    output_type: str,
    job_parameters: str,
    split: dict[str, Any],
    campaign: str,
) -> dict:
    spec = {
        "name": name,
        "vo": VO,
        "processing_type": processing_type,
        "transformation": {"kind": "script", "path": str(PAYLOADS / payload)},
        "output_dataset": output_dataset,
        "log_dataset": log_dataset,
        "outputs": [output_type],
        "job_parameters": job_parameters,
        "split": split,
        "campaign": campaign,
    }
    if input_dataset is not None:
        spec["input_dataset"] = input_dataset
    if SITE is not None:
        spec["site"] = SITE
    return spec
