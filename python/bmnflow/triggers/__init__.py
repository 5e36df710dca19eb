"""bmnflow Airflow triggers."""

from __future__ import annotations
