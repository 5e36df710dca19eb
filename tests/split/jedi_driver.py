"""Runs PanDA's own JEDI job splitter on a file list, outside any PanDA server.

Run by ``.venv-jedi/bin/python`` (the environment holding ``panda-server-source`` and
``panda-common``), never imported by the tests: it reads a JSON request (or a list of them) on
stdin and writes the jobs as JSON on stdout::

    {"rules": {"n_files_per_job": 5, ...}, "sizes": [...], "nevents": [...] | null,
     "groups": [...] | null, "secondaries": [{"sizes": [...], "ratio": 0.5,
     "nosplit": false, "repeat": true}]}
    -> {"jobs": [[[dataset, file, first_event, n_events], ...], ...], "seconds": 1.2}

JEDI's splitter (``pandajedi.jediorder.JobSplitter`` over ``pandaserver.taskbuffer
.InputChunk``) runs unchanged; around it stand the few objects a server would have given it:
a task spec with the split rule, dataset and file specs, one site candidate, and a stub site
with no disk or walltime limit. Before splitting, JEDI cuts files into event ranges when it
registers them in its database; that step needs the database, so it is restated here
(``event_ranges``), following ``insertFilesForDataset_JEDI``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# JEDI reads its configuration files at import; an empty PANDA_HOME with the required sections
# is enough, and keeps its logs out of the way.
_HOME = Path(tempfile.mkdtemp(prefix="bmnflow-jedi-"))
(_HOME / "etc" / "panda").mkdir(parents=True)
(_HOME / "etc" / "panda" / "panda_common.cfg").write_text(
    "[logger]\n"
    f"logdir = {_HOME}\n"
    "log_level = ERROR\n"
    "loghost = 127.0.0.1\n"
    "monport-apache = 9\n"
    "monurlprefix = /\n"
    "method = POST\n"
    "encoding = json\n"
)
(_HOME / "etc" / "panda" / "panda_server.cfg").write_text("[server]\npserverhost = localhost\n")
(_HOME / "etc" / "panda" / "panda_jedi.cfg").write_text("[master]\nuselogger = False\n")
os.environ["PANDA_HOME"] = str(_HOME)

# jedi_config imports the config parser under its old top-level name.
import pandacommon.liveconfigparser  # noqa: E402
import pandacommon.liveconfigparser.LiveConfigParser  # noqa: E402

sys.modules["liveconfigparser"] = pandacommon.liveconfigparser
sys.modules["liveconfigparser.LiveConfigParser"] = pandacommon.liveconfigparser.LiveConfigParser

from pandajedi.jedicore.SiteCandidate import SiteCandidate  # noqa: E402
from pandajedi.jediorder.JobSplitter import JobSplitter  # noqa: E402
from pandaserver.taskbuffer.InputChunk import InputChunk  # noqa: E402
from pandaserver.taskbuffer.JediDatasetSpec import JediDatasetSpec  # noqa: E402
from pandaserver.taskbuffer.JediFileSpec import JediFileSpec  # noqa: E402
from pandaserver.taskbuffer.JediTaskSpec import JediTaskSpec  # noqa: E402

SITE = "BMN_LHEP"


class StubSite:
    """A site with no limit of its own: no working-directory size, walltime or chunk size."""

    maxwdir = None
    maxtime = 0
    mintime = 0
    coreCount = 1
    corepower = None

    def get_job_chunk_size(self) -> None:
        return None

    def always_use_direct_io(self) -> bool:
        return False

    def isDirectIO(self) -> bool:
        return False


class StubSiteMapper:
    def getSite(self, name: str) -> StubSite:
        return StubSite()


def split_rule(rules: dict[str, Any], boundaries: bool) -> str:
    tokens = []
    for name, token in [
        ("n_files_per_job", "NF"),
        ("n_gb_per_job", "NG"),
        ("n_events_per_job", "NE"),
        ("max_files_per_job", "MF"),
    ]:
        if rules.get(name) is not None:
            tokens.append(f"{token}={rules[name]}")
    if boundaries:
        # With events per job, bmnflow restarts the event count at a boundary, which JEDI does
        # for luminosity blocks (respectLB); otherwise boundaries are JEDI's boundaryIDs.
        tokens.append("RL=1" if rules.get("n_events_per_job") else "GB=1")
    return ",".join(tokens)


def event_ranges(n_events: int, per_job: int, owed: int) -> tuple[list[tuple[int, int]], int]:
    """One file's [start, end] event ranges and the events still owed to the open job."""
    ranges = []
    start = 0
    while True:
        if start + owed >= n_events:
            ranges.append((start, n_events - 1))
            owed -= n_events - start
            if owed == 0:
                owed = per_job
            return ranges, owed
        ranges.append((start, start + owed - 1))
        start += owed
        owed = per_job


def dataset(dataset_id: int, attributes: str | None, master: bool) -> JediDatasetSpec:
    spec = JediDatasetSpec()
    spec.datasetID = dataset_id
    spec.datasetName = f"bmn.run8:dataset{dataset_id}"
    spec.type = "input" if master else "pseudo_input"
    spec.masterID = None if master else 1
    spec.attributes = attributes
    return spec


def file_spec(dataset_id: int, index: int, size: int) -> JediFileSpec:
    spec = JediFileSpec()
    spec.datasetID = dataset_id
    spec.fileID = index
    spec.lfn = f"f{dataset_id}.{index}.root"
    spec.fsize = size
    return spec


def primary(request: dict[str, Any]) -> JediDatasetSpec:
    rules = request["rules"]
    per_job = rules.get("n_events_per_job")
    per_file = rules.get("n_events_per_file")
    nevents = request.get("nevents")
    groups = request.get("groups")
    spec = dataset(1, None, master=True)
    owed = per_job
    for index, size in enumerate(request["sizes"]):
        n_events = per_file if per_file is not None else (nevents[index] if nevents else None)
        group = groups[index] if groups else None
        if per_job and groups and index > 0 and group != groups[index - 1]:
            owed = per_job
        ranges: list[tuple[int | None, int | None]] = [(None, None)]
        if per_job and n_events:
            ranges, owed = event_ranges(n_events, per_job, owed)
        for start, end in ranges:
            piece = file_spec(1, index, size)
            piece.nEvents = n_events
            piece.startEvent, piece.endEvent = start, end
            piece.boundaryID = group
            piece.lumiBlockNr = group
            spec.Files.append(piece)
    spec.nFiles = spec.nFilesToBeUsed = len(spec.Files)
    return spec


def secondary(number: int, request: dict[str, Any]) -> JediDatasetSpec:
    attributes = []
    if request.get("ratio") is not None:
        attributes.append(f"ratio={request['ratio']}")
    if request.get("nosplit"):
        attributes.append("nosplit")
    if request.get("repeat"):
        attributes.append("repeat")
    spec = dataset(number + 1, ",".join(attributes), master=False)
    spec.Files = [file_spec(number + 1, i, size) for i, size in enumerate(request["sizes"])]
    return spec


def run(request: dict[str, Any]) -> dict[str, Any]:
    task = JediTaskSpec()
    task.jediTaskID = 1
    task.splitRule = split_rule(request["rules"], bool(request.get("groups")))
    master = primary(request)
    secondaries = [secondary(i + 1, s) for i, s in enumerate(request.get("secondaries", []))]
    chunk = InputChunk(task, master, secondaries)
    chunk.setUseScout(False)
    candidate = SiteCandidate(SITE)
    candidate.weight = 1
    chunk.addSiteCandidate(candidate)

    started = time.perf_counter()
    _, by_site, _ = JobSplitter().doSplit(task, chunk, StubSiteMapper())
    seconds = time.perf_counter() - started

    jobs = []
    for site in by_site:
        for sub_chunk in site["subChunks"]:
            pieces = []
            for spec, files in sub_chunk:
                for f in files:
                    count = None if f.startEvent is None else f.endEvent - f.startEvent + 1
                    pieces.append([spec.datasetID - 1, f.fileID, f.startEvent, count])
            jobs.append(pieces)
    return {"jobs": jobs, "seconds": seconds}


if __name__ == "__main__":
    # One request, or a list of them answered in order (one interpreter start for many cases).
    payload = json.load(sys.stdin)
    if isinstance(payload, list):
        json.dump([run(request) for request in payload], sys.stdout)
    else:
        json.dump(run(payload), sys.stdout)
