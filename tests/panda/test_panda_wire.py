"""gridsim's PanDA on the wire, as the real server answers: JSON only with the exact content
type, JSON replies only when asked, the envelope, argument checks, and tagged datetimes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from conftest import mc_spec

from bmnflow._core import PandaClient, render_task_spec
from bmnflow.testing.gridsim import GridSim


def call(
    grid: GridSim, method: str, path: str, body: Any = None, headers: dict | None = None
) -> tuple[int, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{grid.panda_url}/{path}", data=data, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def test_a_json_body_needs_the_exact_content_type(grid: GridSim) -> None:
    body = {"task_parameters": render_task_spec(mc_spec())}
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
    status, text = call(grid, "POST", "task/submit", body, headers)
    assert status == 200
    answer = json.loads(text)
    assert answer["success"] is False
    assert "missing a required argument: 'task_parameters'" in answer["message"]

    status, text = call(grid, "POST", "task/submit", body, JSON)
    answer = json.loads(text)
    assert answer["success"] is True
    assert answer["message"] == f"succeeded. new jediTaskID={answer['data']}"


def test_replies_are_json_only_when_asked(grid: GridSim) -> None:
    assert call(grid, "GET", "system/is_alive") == (
        200,
        "{'success': True, 'message': '', 'data': None}",
    )
    status, text = call(grid, "GET", "system/is_alive", headers={"Accept": "application/json"})
    assert status == 200
    assert json.loads(text) == {"success": True, "message": "", "data": None}


def test_bad_arguments_come_back_as_refusals(grid: GridSim) -> None:
    status, text = call(grid, "GET", "task/get_status?task_id=abc", headers=JSON)
    assert (status, json.loads(text)["message"]) == (200, "jediTaskID must be an integer")
    status, text = call(grid, "POST", "task/get_status", {"task_id": 1}, JSON)
    assert json.loads(text)["message"] == "expecting GET, received POST"
    status, text = call(grid, "GET", "task/get_details?task_id=1&bogus=2", headers=JSON)
    assert "unexpected keyword argument 'bogus'" in json.loads(text)["message"]
    assert call(grid, "GET", "task/nope") == (403, "ERROR : method nope is forbidden")


def test_datetimes_are_tagged(grid: GridSim) -> None:
    client = PandaClient(grid.url)
    task_id = client.submit_spec(mc_spec())["task_id"]
    status, text = call(
        grid,
        "GET",
        "task/get_tasks_modified_since?since=2020-01-01+00:00:00&full=True",
        headers=JSON,
    )
    assert status == 200
    task = json.loads(text)["data"][str(task_id)]
    assert set(task["modificationTime"]) == {"__datetime__"}
    assert task["jediTaskID"] == task_id
    assert "statistics" in task
