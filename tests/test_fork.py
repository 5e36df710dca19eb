"""A process forked from one that used bmnflow still runs bmnflow calls, as Airflow's
LocalExecutor workers (forked from the scheduler) and Celery's prefork workers must."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_importing_bmnflow_starts_no_thread():
    result = run(
        """
        import os
        import bmnflow
        print(len(os.listdir("/proc/self/task")))
        """
    )
    assert result.returncode == 0, result.stderr
    # Only the interpreter's own thread (and jemalloc's, when pyarrow loaded it).
    assert int(result.stdout) <= 2


def test_a_forked_child_runs_blocking_calls_after_its_parent_did():
    result = run(
        """
        import os
        from bmnflow._core import diagnostics

        assert diagnostics.sleep_blocking(0.01) > 0
        pid = os.fork()
        if pid == 0:
            diagnostics.sleep_blocking(0.01)
            os._exit(7)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "7"


def test_forked_children_of_an_idle_parent_run_blocking_calls():
    # Airflow's case: the scheduler imports bmnflow (provider discovery) and forks workers.
    result = run(
        """
        import os
        import bmnflow
        from bmnflow._core import diagnostics

        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                diagnostics.sleep_blocking(0.01)
                os._exit(0)
            children.append(pid)
        print([os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in children])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0, 0, 0]"
