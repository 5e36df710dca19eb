"""Where a deployment's services and storage are, read once when a DAG file is parsed.

Every value comes from an environment variable of the Airflow components, with the BM@N
production value as default, so that the same DAG files run against the embedded grid (the
demo and the tests set the variables) and against JINR's services.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Airflow connection ids of the three services.
RUCIO_CONN_ID = os.environ.get("BMN_RUCIO_CONN_ID", "rucio_default")
PANDA_CONN_ID = os.environ.get("BMN_PANDA_CONN_ID", "panda_default")
FTS_CONN_ID = os.environ.get("BMN_FTS_CONN_ID", "fts_default")

#: The run period being taken, its Rucio scope, and the scope of Monte Carlo samples.
PERIOD = os.environ.get("BMN_PERIOD", "run8")
SCOPE = os.environ.get("BMN_SCOPE", f"bmn.{PERIOD}")
MC_SCOPE = os.environ.get("BMN_MC_SCOPE", "bmn.mc")

#: The online storage at LHEP where the DAQ writes RAW files, and its Rucio RSE.
ONLINE_STORAGE = Path(os.environ.get("BMN_ONLINE_STORAGE", "/eos/nica/bmn/online"))
ONLINE_RSE = os.environ.get("BMN_ONLINE_RSE", "LHEP_ONLINE")
#: Where the DAQ writes its run-complete markers.
MARKERS = Path(os.environ.get("BMN_MARKERS", str(ONLINE_STORAGE / "daq")))

#: The PanDA VO, and the site (queue) processing runs at.
VO = os.environ.get("BMN_VO", "bmn")
SITE = os.environ.get("BMN_SITE") or None

#: Where worker nodes find the payloads (a CVMFS release folder in production).
PAYLOADS = Path(
    os.environ.get("BMN_PAYLOADS", str(Path(__file__).resolve().parents[1] / "payloads"))
)

#: The policy file of the data types' rules.
POLICIES = Path(
    os.environ.get("BMN_POLICIES", str(Path(__file__).resolve().parents[1] / "policies.toml"))
)

#: Where lineage manifests are written (one Parquet file per run).
MANIFESTS = Path(os.environ.get("BMN_MANIFESTS", "/eos/nica/bmn/exp/manifests"))

#: Seconds before the first status poll of a PanDA task (the interval then grows).
PANDA_POLL_INTERVAL = float(os.environ.get("BMN_PANDA_POLL_INTERVAL", "30"))

#: Seconds between two looks of the asset watchers.
WATCH_INTERVAL = float(os.environ.get("BMN_WATCH_INTERVAL", "10"))
