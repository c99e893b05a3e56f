"""Executed notebooks keep names people can read, and names never collide."""

from __future__ import annotations

from pathlib import Path

from jupyter_taskvalues.store import RunStore


def test_executed_notebooks_are_named_after_their_task(store: RunStore) -> None:
    run_id = store.create_run(job_name="j", tasks={"ingest": {}, "Train_Model": {}, "train_model": {}})
    assert Path(store.notebook_path(run_id, "ingest")).name == "ingest.ipynb"
    assert Path(store.notebook_path(run_id, "ingest", 2)).name == "ingest@2.ipynb"
    upper = Path(store.notebook_path(run_id, "Train_Model")).name
    lower = Path(store.notebook_path(run_id, "train_model")).name
    assert upper.startswith("Train_Model") and lower == "train_model.ipynb"
    assert upper.lower() != lower  # distinct on a case-insensitive file system too
