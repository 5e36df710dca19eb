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
        "hooks": [
            {"integration-name": "Rucio", "python-modules": ["bmnflow.hooks.rucio"]},
        ],
        "operators": [
            {"integration-name": "Rucio", "python-modules": ["bmnflow.operators.rucio"]},
            {"integration-name": "PanDA", "python-modules": ["bmnflow.operators.split"]},
        ],
        "sensors": [
            {"integration-name": "Rucio", "python-modules": ["bmnflow.sensors.rucio"]},
        ],
        "triggers": [
            {"integration-name": "Rucio", "python-modules": ["bmnflow.triggers.rucio"]},
        ],
        "connection-types": [
            RUCIO_CONNECTION,
        ],
        "extra-links": [
            "bmnflow.links.rucio.RucioRuleLink",
        ],
    }


_TEXT = {"type": ["string", "null"]}

#: The Rucio connection form: host is the server URL, login/password the userpass identity
#: (for OIDC the password holds the JWT); the rest are extras.
RUCIO_CONNECTION: dict[str, Any] = {
    "connection-type": "rucio",
    "hook-class-name": "bmnflow.hooks.rucio.RucioHook",
    "hook-name": "Rucio",
    "conn-fields": {
        "account": {"label": "Account", "schema": _TEXT},
        "auth_type": {
            "label": "Authentication",
            "schema": {
                "type": ["string", "null"],
                "default": "userpass",
                "enum": ["userpass", "oidc", "x509"],
            },
            "description": "userpass: login and password; oidc: a JWT as password; x509: proxy",
        },
        "vo": {"label": "VO", "schema": _TEXT},
        "ca_dir": {"label": "CA folder", "schema": _TEXT},
        "client_cert": {"label": "X.509 certificate or proxy file", "schema": _TEXT},
        "client_key": {"label": "X.509 key file", "schema": _TEXT},
        "webui_url": {"label": "Web UI URL", "schema": _TEXT},
    },
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port"],
        "relabeling": {"host": "Server URL", "login": "User name"},
        "placeholders": {
            "host": "https://rucio.jinr.ru",
            "account": "bmn_prod",
            "ca_dir": "/etc/grid-security/certificates",
        },
    },
}
