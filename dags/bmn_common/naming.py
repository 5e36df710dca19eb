"""BM@N names of runs' datasets, containers and PanDA tasks, in one place.

One dataset per run and stage (``bmn.run8:raw.run8123``), grouped by stage into a container
per run period (``bmn.run8:run8.raw``); the policies' patterns match these names.
"""

from __future__ import annotations

from bmn_common.settings import MC_SCOPE, PERIOD, SCOPE

STAGES = ("raw", "digi", "dst")


def run_dataset(stage: str, run: int) -> str:
    """The dataset of one run at one stage, ``scope:name``."""
    _check(stage, run)
    return f"{SCOPE}:{stage}.run{run}"


def log_dataset(stage: str, run: int) -> str:
    """The dataset of the log tarballs of a run's PanDA task for ``stage``."""
    _check(stage, run)
    return f"{SCOPE}:log.{stage}.run{run}"


def period_container(stage: str) -> str:
    """The container of the period's datasets of ``stage``, ``scope:name``."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    return f"{SCOPE}:{PERIOD}.{stage}"


def run_task_name(stage: str, run: int) -> str:
    """The PanDA task name of a run's ``stage`` processing; unique, so resubmission finds
    the task instead of making another."""
    _check(stage, run)
    return f"bmn.{PERIOD}.run{run}.{stage}"


def mc_dataset(sample: str, step: str) -> str:
    """A Monte Carlo sample's dataset of ``step`` (``gen``, ``digi``, ``dst``)."""
    return f"{MC_SCOPE}:mc.{sample}.{step}"


def mc_log_dataset(sample: str, step: str) -> str:
    """The log dataset of a Monte Carlo sample's ``step`` task."""
    return f"{MC_SCOPE}:log.mc.{sample}.{step}"


def _check(stage: str, run: int) -> None:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    if not isinstance(run, int) or run <= 0:
        raise ValueError(f"a run number is a positive integer, got {run!r}")
