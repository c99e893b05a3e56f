"""The command line's grammar and edge, in process: versions, help, hints, executors, extras, logging."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_taskvalues import __version__
from jupyter_taskvalues.cli.extras import EXTRAS
from jupyter_taskvalues.cli.parser import COMMANDS
from jupyter_taskvalues.jobs.executors.dask import DaskExecutor
from tests.cli.inprocess import RecordingExecutor, run_main
from tests.jobhelpers import job, nb_task, notebook

ROOT = Path(__file__).resolve().parents[2]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(capsys, "--version") == (0, f"jupyter-taskvalues {__version__}\n", "")


@pytest.mark.parametrize("args", [["--version"], ["run", "--help"], ["frobnicate"]])
def test_jupyter_taskvalues_and_jupyter_subcommand_are_identical(args: list[str]) -> None:
    bin_dir = Path(sys.executable).parent
    direct = subprocess.run(
        [str(bin_dir / "jupyter-taskvalues"), *args], capture_output=True, text=True, check=False
    )
    via_jupyter = subprocess.run(
        [str(bin_dir / "jupyter"), "taskvalues", *args], capture_output=True, text=True, check=False
    )
    assert (direct.returncode, direct.stdout, direct.stderr) == (
        via_jupyter.returncode,
        via_jupyter.stdout,
        via_jupyter.stderr,
    )
    assert direct.stdout or direct.stderr


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_subcommand_help_ends_with_an_example(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = run_main(capsys, command, "--help")
    assert code == 0
    assert f"example:\n  jupyter-taskvalues {command}" in out


def test_a_mistyped_subcommand_gets_a_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "rnu")
    assert code == 2 and out == ""
    assert "invalid choice: 'rnu'" in err and "did you mean 'run'?" in err


def test_a_mistyped_flag_gets_a_did_you_mean(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_main(capsys, "run", str(tmp_path / "job.json"), "--log-outptu")
    assert code == 2
    assert "unrecognized arguments: --log-outptu" in err and "did you mean '--log-output'?" in err


def test_global_options_work_before_and_after_the_subcommand(
    capsys: pytest.CaptureFixture[str], runs_dir: Path
) -> None:
    before = run_main(capsys, "--log-level", "debug", "get", "latest", "a", "b")
    after = run_main(capsys, "get", "latest", "a", "b", "-vv")
    for code, _, err in (before, after):
        assert code == 2
        assert "DEBUG jupyter_taskvalues.cli: command failed" in err
        assert err.rstrip().endswith(f"error: There are no runs in {runs_dir} yet.")
    quiet = run_main(capsys, "-q", "get", "latest", "a", "b")
    assert "DEBUG" not in quiet[2] and "error: There are no runs" in quiet[2]


def test_logging_is_left_as_it_was_after_main(capsys: pytest.CaptureFixture[str], runs_dir: Path) -> None:
    import logging

    logger = logging.getLogger("jupyter_taskvalues")
    before = (list(logger.handlers), logger.level, logger.propagate)
    run_main(capsys, "-vv", "runs")
    assert (list(logger.handlers), logger.level, logger.propagate) == before


def _job(tmp_path: Path) -> Path:
    notebook(tmp_path / "a.ipynb", "pass")
    return job(tmp_path / "job.json", [nb_task("a", "a")])


def test_executors_and_their_options_come_from_the_registry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, recording: type[RecordingExecutor]
) -> None:
    code, out, _ = run_main(capsys, "run", "--help")
    assert "{dask,local,pretend}" in out and "--flavour NAME" in out and "[pretend] how to pretend" in out
    code, out, err = run_main(
        capsys, "run", str(_job(tmp_path)), "--executor", "pretend", "--flavour", "mint", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["state"] == "SUCCESS"
    (options,) = recording.seen
    assert options.executor == "pretend"
    assert options.executor_options == {"flavour": "mint"}
    assert options.max_parallel == 7  # the executor's default, not the CLI's


def test_an_executor_option_without_its_executor_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path
) -> None:
    code, _, err = run_main(capsys, "run", str(_job(tmp_path)), "--scheduler", "tcp://x:1")
    assert code == 2
    assert err.strip() == "error: --scheduler is an option of --executor dask; add --executor dask."
    assert not runs_dir.exists()


def test_a_missing_optional_module_is_one_error_naming_the_extra_before_the_run(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    runs_dir: Path,
    recording: type[RecordingExecutor],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RecordingExecutor, "requires", ("distributed", "jupyter_taskvalues_no_such_module"))
    monkeypatch.setitem(EXTRAS, "jupyter_taskvalues_no_such_module", "dask")
    code, out, err = run_main(capsys, "run", str(_job(tmp_path)), "--executor", "pretend")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: --executor pretend needs the Python module 'jupyter_taskvalues_no_such_module', which is not "
        "installed here. Install it with: pip install 'jupyter-taskvalues[dask]'"
    ]
    assert recording.seen == [] and not runs_dir.exists()


def test_the_dask_executor_names_the_dask_extra() -> None:
    assert all(EXTRAS[module] == "dask" for module in DaskExecutor.requires)


def test_every_extra_named_for_a_module_exists_in_pyproject() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^([A-Za-z][\w-]*) = \[", section, flags=re.MULTILINE))
    assert {"dask", "test"} <= extras
    assert set(EXTRAS.values()) <= set(extras)


def test_show_output_needs_a_task(capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path) -> None:
    assert run_main(capsys, "run", str(_job(tmp_path)), "--executor", "local", "--json", "-q")[0] == 0
    code, _, err = run_main(capsys, "show", "latest", "--output")
    assert code == 2 and "--task T" in err


def test_a_caller_listening_to_debug_records_keeps_them(
    capsys: pytest.CaptureFixture[str], runs_dir: Path
) -> None:
    import logging

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("jupyter_taskvalues")
    handler = Keep(logging.DEBUG)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        code, _, err = run_main(capsys, "get", "latest", "a", "b")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert code == 2
    assert "DEBUG" not in err  # the CLI's own handler stays at WARNING
    assert any(r.getMessage() == "command failed" for r in records)


def test_shell_completion_completes_subcommands_and_flags(tmp_path: Path) -> None:
    def complete(line: str) -> list[str]:
        out = tmp_path / "completions"
        env = {
            **os.environ,
            "_ARGCOMPLETE": "1",
            "_ARGCOMPLETE_SHELL": "bash",
            "COMP_LINE": line,
            "COMP_POINT": str(len(line)),
            "_ARGCOMPLETE_STDOUT_FILENAME": str(out),
        }
        binary = Path(sys.executable).with_name("jupyter-taskvalues")
        result = subprocess.run([str(binary)], env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        return sorted(word.strip() for word in out.read_text().split("\v"))

    assert complete("jupyter-taskvalues r") == ["repair", "run", "runs"]
    assert "--log-output" in complete("jupyter-taskvalues run job.yml --log-")


def test_a_runs_dir_url_without_its_filesystem_names_the_package(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, recording: type[RecordingExecutor]
) -> None:
    code, _, err = run_main(
        capsys, "run", str(_job(tmp_path)), "--executor", "pretend", "--runs-dir", "gs://bucket/runs"
    )
    assert code == 2
    assert err.strip() == (
        "error: A runs directory on gs:// needs the Python module 'gcsfs', which is not installed here. "
        "Install it with: pip install gcsfs"
    )
    assert recording.seen == []


def test_a_mistyped_executor_gets_a_did_you_mean(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_main(capsys, "run", str(_job(tmp_path)), "--executor", "dsak")
    assert code == 2 and "invalid choice: 'dsak'" in err and "did you mean 'dask'?" in err


def test_repair_latest_reruns_the_named_task_of_the_newest_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runs_dir: Path, recording: type[RecordingExecutor]
) -> None:
    first = run_main(capsys, "run", str(_job(tmp_path)), "--executor", "pretend", "--json")
    assert first[0] == 0, first[2]
    code, out, err = run_main(capsys, "repair", "latest", "--task", "a", "--executor", "pretend", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["run_id"] == json.loads(first[1])["run_id"]
    assert document["repair_count"] == 1
    assert len(recording.seen) == 2


def test_a_command_that_reads_runs_loads_no_executor_event_loop_or_rich(tmp_path: Path) -> None:
    # `runs --json` is what scripts call in a loop: its start-up is the command's cost (issue 18's 300 ms).
    probe = (
        "import contextlib, io, json, sys\n"
        "from jupyter_taskvalues.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    code = main(['runs', '--json', '--runs-dir', {str(tmp_path)!r}])\n"
        "heavy = ('asyncio', 'rich', 'jupyter_taskvalues.jobs.api', 'jupyter_taskvalues.jobs.executors.registry')\n"
        "print(json.dumps([code, json.loads(out.getvalue()), [m for m in heavy if m in sys.modules]]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == [0, [], []]


def test_a_parser_built_for_one_command_parses_it_as_the_full_parser(tmp_path: Path) -> None:
    from jupyter_taskvalues.cli.parser import build_parser

    argv = [
        "-v",
        "run",
        str(tmp_path / "job.yml"),
        "--executor",
        "dask",
        "--param",
        "runs=3",
        "--max-parallel",
        "2",
    ]
    assert vars(build_parser(argv).parse_args(argv)) == vars(build_parser().parse_args(argv))
    with pytest.raises(SystemExit):  # the other commands still exist, with no arguments of their own
        build_parser(["runs"]).parse_args(["show", "latest"])


def test_runs_json_prints_one_run_per_line(capsys: pytest.CaptureFixture[str], runs_dir: Path) -> None:
    from jupyter_taskvalues.store import open_store

    store = open_store(runs_dir)
    made = [
        store.create_run(job_name=name, tasks={"t": {"type": "notebook"}}) for name in ("first", "é second")
    ]
    code, out, _ = run_main(capsys, "runs", "--json", "--runs-dir", str(runs_dir))
    assert code == 0
    lines = out.splitlines()
    assert (lines[0], lines[-1], len(lines)) == ("[", "]", 4)
    assert sorted(run["run_id"] for run in json.loads(out)) == sorted(made)
    assert "é second" in out  # as text, not \u escapes
    assert run_main(capsys, "runs", "--json", "--runs-dir", str(runs_dir / "none"))[:2] == (0, "[]\n")
