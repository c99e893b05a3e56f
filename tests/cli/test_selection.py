"""Running part of a job from the command line: --stub, --only and --from-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.inprocess import RecordingExecutor, run_main
from tests.jobhelpers import job, nb_task, notebook


def _two(tmp_path: Path) -> Path:
    notebook(tmp_path / "a.ipynb", "pass")
    notebook(tmp_path / "b.ipynb", "pass")
    return job(tmp_path / "job.json", [nb_task("a", "a"), nb_task("b", "b", depends_on=["a"])])


def test_a_stubbed_task_succeeds_with_the_values_of_its_file_without_running(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, recording: type[RecordingExecutor]
) -> None:
    values = tmp_path / "a-values.json"
    values.write_text(json.dumps({"rows": 3}))
    code, out, err = run_main(
        capsys, "run", str(_two(tmp_path)), "--executor", "pretend", "--stub", f"a={values}", "--json"
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["tasks"]["a"]["state"] == "SUCCESS"
    assert document["tasks"]["a"]["values"] == {"rows": 3}
    assert document["tasks"]["b"]["state"] == "SUCCESS"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "holds a list; it must be a JSON object"),
        ("{not json", "is not JSON"),
    ],
)
def test_a_stub_file_that_is_not_an_object_of_values_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, content: str, message: str
) -> None:
    values = tmp_path / "bad.json"
    values.write_text(content)
    code, _, err = run_main(capsys, "run", str(_two(tmp_path)), "--stub", f"a={values}")
    assert code == 2 and message in err and not runs_dir.exists()


def test_from_run_needs_only(capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path) -> None:
    code, _, err = run_main(capsys, "run", str(_two(tmp_path)), "--from-run", "latest")
    assert code == 2 and "add --only" in err


def test_only_runs_the_selection_and_takes_the_rest_from_an_earlier_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, recording: type[RecordingExecutor]
) -> None:
    path = _two(tmp_path)
    first = run_main(capsys, "run", str(path), "--executor", "pretend", "--json")
    assert first[0] == 0, first[2]
    code, out, err = run_main(
        capsys, "run", str(path), "--executor", "pretend", "--only", "b", "--from-run", "latest", "--json"
    )
    assert code == 0, err
    document = json.loads(out)
    assert document["run_id"] != json.loads(first[1])["run_id"]
    assert document["tasks"]["a"]["state"] == "SUCCESS"  # taken from the earlier run
    assert len(recording.seen) == 2  # one executor per run; the second ran only b


def test_only_an_unknown_task_is_a_usage_error_with_a_hint(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path
) -> None:
    code, _, err = run_main(capsys, "run", str(_two(tmp_path)), "--only", "a,bb")
    assert code == 2 and "did you mean 'b'?" in err and not runs_dir.exists()


def test_validate_prints_the_plan_and_needs_a_stub_for_a_workspace_task(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notebook(tmp_path / "a.ipynb", "pass")
    path = job(tmp_path / "job.json", [nb_task("a", "a"), {"task_key": "q", "sql_task": {}}], name="mixed")
    code, out, _ = run_main(capsys, "validate", str(path))
    assert code == 2
    assert "stub needed" in out and "notebook in a fresh kernel" in out
    code, out, _ = run_main(capsys, "validate", str(path), "--stub", "q", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["jobs"] == [{"job": "mixed", "valid": True, "error": None, "warnings": []}]
    assert [(line["task_key"], line["status"]) for line in plan["plan"]] == [("a", "runs"), ("q", "stubbed")]
    assert plan["problems"] == []
