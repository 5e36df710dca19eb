"""Provider metadata that Airflow's provider discovery reads through the entry point."""

from __future__ import annotations

from typing import Any

from bmnflow import __version__


def get_provider_info() -> dict[str, Any]:
    """Describes bmnflow to Airflow: integrations, hooks, operators, connections, links."""
    return {
        "package-name": "apache-airflow-providers-bmnflow",
        "name": "bmnflow",
        "description": "BM@N processing chains on PanDA, Rucio and FTS, with a Rust core.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Rucio",
                "external-doc-url": "https://rucio.cern.ch/documentation/",
                "tags": ["software"],
            },
            {
                "integration-name": "PanDA",
                "external-doc-url": "https://panda-wms.readthedocs.io/",
                "tags": ["software"],
            },
            {
                "integration-name": "FTS",
                "external-doc-url": "https://fts3-docs.web.cern.ch/fts3-docs/",
                "tags": ["software"],
            },
        ],
    }
