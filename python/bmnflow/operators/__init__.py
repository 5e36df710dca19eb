"""bmnflow Airflow operators."""

from __future__ import annotations
