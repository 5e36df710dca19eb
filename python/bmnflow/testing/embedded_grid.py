"""The whole embedded grid of the BM@N chains: gridsim, the real Rucio server with its daemons
running continuously, and optionally an Airflow deployment whose connections point at them.

The chains' DAGs read their deployment from ``BMN_*`` variables (``dags/bmn_common/
settings.py``); :meth:`EmbeddedGrid.bmn_env` sets them for this grid: the online storage is
gridsim's LHEP_ONLINE folder, manifests go under the grid's folder, and the watchers and
PanDA polls look every few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bmnflow.testing.airflow_home import COMPONENTS, AirflowHome
from bmnflow.testing.gridsim import GridSim
from bmnflow.testing.rucio_server import ALL_DAEMONS, RucioServer, free_port

#: The repository's DAG folder when running from a checkout.
REPO_DAGS = Path(__file__).resolve().parents[3] / "dags"


@dataclass
class EmbeddedGrid:
    """gridsim + Rucio (+ Airflow) for the BM@N chains, under one folder.

    :param root: Folder of everything: storage, databases, logs, manifests.
    :param dags_folder: The DAGs Airflow runs; the repository's by default.
    :param gridsim_config: Sections merged into gridsim's configuration (``fts``, ``panda``,
        ``faults``), over defaults that make transfers and jobs quick.
    :param panda_slots: PanDA jobs running at once on the local site.
    """

    root: Path
    dags_folder: Path = REPO_DAGS
    gridsim_config: dict[str, Any] = field(default_factory=dict)
    panda_slots: int = 4
    gridsim: GridSim | None = field(default=None, init=False)
    rucio: RucioServer | None = field(default=None, init=False)
    airflow: AirflowHome | None = field(default=None, init=False)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, airflow: bool = True) -> None:
        """Starts gridsim, Rucio and its daemons, and (when asked) Airflow."""
        self.root.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.rucio = RucioServer(workdir=self.root / "rucio", gridsim_port=port)
        self.rucio.start()
        # gridsim's PanDA resolves input datasets in, and registers outputs to, this Rucio.
        rucio = {
            "url": self.rucio.url,
            "account": self.rucio.account,
            "username": self.rucio.username,
            "password": self.rucio.password,
        }
        config = {
            "fts": {"time_scale": 0.1},
            "panda": {"storage": "LHEP_DISK", "slots": self.panda_slots, "rucio": rucio},
            **self.gridsim_config,
        }
        self.gridsim = GridSim(root=self.root / "gridsim", port=port, config=config)
        self.gridsim.start()
        self.rucio.start_daemons(ALL_DAEMONS)
        if airflow:
            self.start_airflow()

    def start_airflow(
        self, components: tuple[str, ...] = COMPONENTS, extra_env: dict[str, str] | None = None
    ) -> AirflowHome:
        """Starts Airflow with the grid's connections and ``BMN_*`` variables (plus
        ``extra_env``, such as the sidecar's address)."""
        self.airflow = AirflowHome(
            path=self.root / "airflow",
            dags_folder=self.dags_folder,
            connections=self.connections(),
            extra_env={**self.bmn_env(), **(extra_env or {})},
        )
        self.airflow.migrate()
        self.airflow.start(components)
        return self.airflow

    def stop(self) -> None:
        """Stops Airflow, the Rucio daemons and server, and gridsim; each only if started."""
        if self.airflow is not None:
            self.airflow.stop()
        if self.rucio is not None:
            self.rucio.stop()
        if self.gridsim is not None:
            self.gridsim.stop()

    def process_groups(self) -> list[int]:
        """The process group of every process the grid started and that still runs, so that
        a kept grid can be stopped from another process."""
        groups = self.airflow.process_groups() if self.airflow is not None else []
        # The harnesses start each process as the leader of its own session.
        if self.rucio is not None:
            running = [self.rucio._process, *self.rucio._daemons.values()]
            groups += [p.pid for p in running if p is not None and p.poll() is None]
        if self.gridsim is not None and self.gridsim._process is not None:
            groups.append(self.gridsim._process.pid)
        return groups

    def __enter__(self) -> EmbeddedGrid:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what Airflow needs --------------------------------------------------------------------

    def connections(self) -> dict[str, dict[str, Any]]:
        """The Airflow connections ``rucio_default``, ``panda_default`` and ``fts_default``."""
        assert self.rucio is not None
        assert self.gridsim is not None
        return grid_connections(self.rucio, self.gridsim)

    def bmn_env(self) -> dict[str, str]:
        """The ``BMN_*`` variables that point the chains' DAGs at this grid."""
        assert self.gridsim is not None
        return {
            "BMN_ONLINE_STORAGE": str(self.online_storage),
            "BMN_MANIFESTS": str(self.manifests),
            "BMN_WATCH_INTERVAL": "2",
            "BMN_PANDA_POLL_INTERVAL": "3",
        }

    @property
    def online_storage(self) -> Path:
        """The folder of LHEP_ONLINE, where the DAQ writes."""
        assert self.gridsim is not None
        return self.gridsim.storage_path("LHEP_ONLINE")

    @property
    def manifests(self) -> Path:
        """Where the lineage manifests are written."""
        return self.root / "manifests"

    # -- acting as the DAQ ---------------------------------------------------------------------

    def close_run(self, run: int, *, parts: int = 3, events_per_part: int = 100) -> dict:
        """Writes a run's RAW files to LHEP_ONLINE and its run-complete marker, as the DAQ
        does; returns the marker's document."""
        script = self.dags_folder / "payloads" / "bmn_daq.py"
        subprocess.run(
            [
                sys.executable,
                str(script),
                "--run",
                str(run),
                "--parts",
                str(parts),
                "--events-per-part",
                str(events_per_part),
                "--storage",
                str(self.online_storage),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        marker = self.online_storage / "daq" / "run8" / f"run_{run}.complete"
        return json.loads(marker.read_text())


def grid_connections(rucio: RucioServer, gridsim: GridSim) -> dict[str, dict[str, Any]]:
    """Airflow connections (``rucio_default``, ``panda_default``, ``fts_default``, in the
    JSON form of ``AIRFLOW_CONN_<ID>``) to a Rucio server and a gridsim."""
    return {
        "rucio_default": {
            "conn_type": "rucio",
            "host": rucio.url,
            "login": rucio.username,
            "password": rucio.password,
            "extra": {"account": rucio.account, "auth_type": "userpass"},
        },
        "panda_default": {
            "conn_type": "panda",
            "host": gridsim.url,
            "extra": {"vo": "bmn", "verify_tls": False},
        },
        "fts_default": {
            "conn_type": "fts",
            "host": gridsim.fts_url,
            "extra": {"auth_type": "none", "verify_tls": False},
        },
    }
