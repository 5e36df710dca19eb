"""bmnflow Airflow links."""

from __future__ import annotations
