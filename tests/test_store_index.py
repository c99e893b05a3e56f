"""A finished task's values are listed from one index file, which can be stale but never wrong."""

from __future__ import annotations

from pathlib import Path

from jupyter_taskvalues.store import RunStore


def _finished_task(store: RunStore) -> tuple[str, Path]:
    run_id = store.create_run(job_name="j", tasks={"t": {}}, max_values=1000)
    for i in range(20):
        store.set_value(run_id, "t", f"k{i}", {"i": i})
    store.write_task(run_id, "t", {"state": "SUCCESS"})
    (index,) = Path(store.run_dir(run_id), "values").glob("*/.index.json")
    return run_id, index


def test_finishing_a_task_writes_an_index_that_lists_the_same_values(store: RunStore) -> None:
    run_id, index = _finished_task(store)
    assert index.exists()
    listed = store.list_values(run_id, "t")
    assert {k: r.value for k, r in listed.items()} == {f"k{i}": {"i": i} for i in range(20)}
    assert store.count_values(run_id) == 20  # the index is not a value


def test_a_value_written_after_the_index_is_read_from_its_file(store: RunStore) -> None:
    run_id, _ = _finished_task(store)
    store.set_value(run_id, "t", "k3", "changed")
    store.set_value(run_id, "t", "late", 1)
    listed = store.list_values(run_id, "t")
    assert listed["k3"].value == "changed"
    assert listed["late"].value == 1
    assert len(listed) == 21


def test_a_damaged_index_falls_back_to_the_files(store: RunStore) -> None:
    run_id, index = _finished_task(store)
    index.write_text("{not json")
    assert len(store.list_values(run_id, "t")) == 20


def test_an_index_never_resurrects_a_deleted_value(store: RunStore) -> None:
    run_id, index = _finished_task(store)
    value_file = next(p for p in index.parent.glob("*.json") if not p.name.startswith("."))
    value_file.unlink()
    assert len(store.list_values(run_id, "t")) == 19
