"""The run document serialized task by task, with unchanged tasks served from a cache, is the run document."""

from __future__ import annotations

import json
from collections.abc import Hashable
from pathlib import Path

from jupyter_taskvalues.document import run_document, run_document_json
from jupyter_taskvalues.store import RunStore


def _run(tmp_path: Path) -> tuple[RunStore, str]:
    store = RunStore(tmp_path / "runs")
    run_id = store.create_run(
        job_name="j",
        tasks={"a": {"type": "notebook"}, "b": {"type": "notebook"}, "loop": {"type": "for_each"}},
    )
    store.write_task(run_id, "a", {"state": "SUCCESS", "attempts": [{"attempt": 1}, {"attempt": 2}]})
    store.set_value(run_id, "a", "first", "try", attempt=1)
    store.archive_attempt(run_id, "a", 1)
    store.set_value(run_id, "a", "rows", 3, attempt=2)
    store.write_task(run_id, "b", {"state": "RUNNING", "attempts": [{"attempt": 1}]})
    store.set_value(run_id, "b", "é", {"nested": [1, "<b>"]})
    store.write_task(run_id, "loop", {"state": "SUCCESS", "iterations": [{"index": 0}, {"index": 1}]})
    store.set_value(run_id, "loop", "n", 0, iteration=0)
    store.set_value(run_id, "loop", "n", 1, iteration=1)
    return store, run_id


def test_serialized_document_is_the_run_document(tmp_path: Path) -> None:
    store, run_id = _run(tmp_path)

    assert json.loads(run_document_json(store, run_id)) == run_document(store, run_id)


def test_a_task_that_changed_is_serialized_again_and_the_others_come_from_the_cache(tmp_path: Path) -> None:
    store, run_id = _run(tmp_path)
    fragments: dict[Hashable, bytes] = {}
    run_document_json(store, run_id, fragments)
    cached = dict(fragments)

    store.set_value(run_id, "b", "late", True)
    after_value = json.loads(run_document_json(store, run_id, fragments))
    store.write_task(run_id, "a", {"state": "FAILED", "attempts": [{"attempt": 1}, {"attempt": 2}]})
    after_record = json.loads(run_document_json(store, run_id, fragments))
    store.clear_task_values(run_id, "loop")
    after_clear = json.loads(run_document_json(store, run_id, fragments))

    assert len(cached) == 3
    assert after_value["tasks"]["b"]["values"]["late"] is True
    assert after_record["tasks"]["a"]["state"] == "FAILED"
    assert all(i["values"] == {} for i in after_clear["tasks"]["loop"]["iterations"])
    assert after_clear == run_document(store, run_id)
    assert len(fragments) == 6  # one new fragment per change; the unchanged tasks were not made again


def test_a_fresh_reader_of_the_same_run_never_reuses_a_fragment_of_another_replay(tmp_path: Path) -> None:
    store, run_id = _run(tmp_path)
    fragments: dict[Hashable, bytes] = {}
    run_document_json(store, run_id, fragments)
    # The run is deleted and made again with the same id and other values: nothing cached may leak into it.
    store.delete_run(run_id)
    again = RunStore(tmp_path / "runs")
    again.create_run(job_name="j", tasks={"a": {"type": "notebook"}}, run_id=run_id)
    again.write_task(run_id, "a", {"state": "SUCCESS", "attempts": [{"attempt": 1}]})
    again.set_value(run_id, "a", "rows", 99)

    served = json.loads(run_document_json(again, run_id, fragments))

    assert served["tasks"]["a"]["values"] == {"rows": 99}
    assert served == run_document(again, run_id)
