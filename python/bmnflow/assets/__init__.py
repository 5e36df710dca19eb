"""Asset watchers that start BM@N chains when data arrives.

- :class:`RunCompleteTrigger`: the DAQ closed a run (a run-complete marker on the online
  storage).
- :class:`RunDatasetReadyTrigger`: a run's RAW dataset is closed in Rucio and every one of
  its rules is OK.

Both are edge-triggered: each run is announced once, and the runs already announced are kept
in Airflow's asset state store, so that a triggerer restart neither loses nor repeats one.
"""

from __future__ import annotations

from bmnflow.assets.dataset_ready import RunDatasetReadyTrigger
from bmnflow.assets.run_complete import RunCompleteTrigger

__all__ = ["RunCompleteTrigger", "RunDatasetReadyTrigger"]
