"""What the BM@N chains' DAGs share: deployment settings, dataset names, PanDA task specs,
the lineage manifest. Plain Python, importable without Airflow running."""
