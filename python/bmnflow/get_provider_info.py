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
            {"integration-name": "FTS", "python-modules": ["bmnflow.hooks.fts"]},
            {"integration-name": "PanDA", "python-modules": ["bmnflow.hooks.panda"]},
        ],
        "operators": [
            {"integration-name": "Rucio", "python-modules": ["bmnflow.operators.rucio"]},
            {"integration-name": "FTS", "python-modules": ["bmnflow.operators.fts"]},
            {"integration-name": "PanDA", "python-modules": ["bmnflow.operators.panda"]},
            {"integration-name": "PanDA", "python-modules": ["bmnflow.operators.split"]},
        ],
        "sensors": [
            {"integration-name": "Rucio", "python-modules": ["bmnflow.sensors.rucio"]},
            {"integration-name": "FTS", "python-modules": ["bmnflow.sensors.fts"]},
            {"integration-name": "PanDA", "python-modules": ["bmnflow.sensors.panda"]},
        ],
        "triggers": [
            {"integration-name": "Rucio", "python-modules": ["bmnflow.triggers.rucio"]},
            {"integration-name": "FTS", "python-modules": ["bmnflow.triggers.fts"]},
            {"integration-name": "PanDA", "python-modules": ["bmnflow.triggers.panda"]},
        ],
        "connection-types": [
            RUCIO_CONNECTION,
            FTS_CONNECTION,
            PANDA_CONNECTION,
        ],
        "extra-links": [
            "bmnflow.links.rucio.RucioRuleLink",
            "bmnflow.links.fts.FtsJobLink",
            "bmnflow.links.panda.PandaTaskLink",
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

#: The FTS connection form: host is the REST endpoint URL, the password a bearer token (for
#: auth_type token); certificate paths are extras.
FTS_CONNECTION: dict[str, Any] = {
    "connection-type": "fts",
    "hook-class-name": "bmnflow.hooks.fts.FtsHook",
    "hook-name": "FTS",
    "conn-fields": {
        "auth_type": {
            "label": "Authentication",
            "schema": {
                "type": ["string", "null"],
                "default": "none",
                "enum": ["none", "token", "certificate"],
            },
            "description": "token: a bearer token as password; certificate: an X.509 proxy",
        },
        "certificate": {"label": "X.509 certificate or proxy file", "schema": _TEXT},
        "key": {"label": "X.509 key file (when not in the certificate file)", "schema": _TEXT},
        "ca_dir": {"label": "CA folder", "schema": _TEXT},
        "verify_tls": {"label": "Verify TLS", "schema": {"type": ["boolean", "null"]}},
        "web_monitor": {"label": "Web monitor job URL, with {job_id}", "schema": _TEXT},
    },
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port", "login"],
        "relabeling": {"host": "Endpoint URL", "password": "Token"},
        "placeholders": {
            "host": "https://fts.jinr.ru:8446",
            "certificate": "/tmp/x509up_u1000",
            "ca_dir": "/etc/grid-security/certificates",
            "web_monitor": "https://fts.jinr.ru:8449/fts3/ftsmon/#/job/{job_id}",
        },
    },
}

#: The PanDA connection form: host is the server URL, the password an OIDC id token (or the
#: token_file extra, re-read when it changes); an X.509 proxy is the alternative.
PANDA_CONNECTION: dict[str, Any] = {
    "connection-type": "panda",
    "hook-class-name": "bmnflow.hooks.panda.PandaHook",
    "hook-name": "PanDA",
    "conn-fields": {
        "vo": {"label": "VO (sent as Origin)", "schema": _TEXT},
        "role": {"label": "Role, such as production", "schema": _TEXT},
        "token_file": {"label": "OIDC id token file", "schema": _TEXT},
        "proxy": {"label": "X.509 proxy file", "schema": _TEXT},
        "ca_dir": {"label": "CA folder", "schema": _TEXT},
        "verify_tls": {"label": "Verify TLS", "schema": {"type": ["boolean", "null"]}},
        "monitor_url": {"label": "PanDA monitor URL", "schema": _TEXT},
    },
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "login"],
        "relabeling": {"host": "Server URL", "password": "OIDC id token"},
        "placeholders": {
            "host": "https://pandaserver.jinr.ru:25443",
            "vo": "bmn",
            "token_file": "/run/secrets/panda_id_token",
            "ca_dir": "/etc/grid-security/certificates",
            "monitor_url": "https://bigpanda.jinr.ru",
        },
    },
}
