"""Job files read as YAML 1.2, as the Databricks CLI reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_taskvalues.exceptions import JobSpecError
from jupyter_taskvalues.jobs.spec.documents import read_document


def read(tmp_path: Path, text: str) -> object:
    path = tmp_path / "job.yml"
    path.write_text(text)
    return read_document(path)


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("NO", "NO"),
        ("y", "y"),
        ("true", True),
        ("FALSE", False),
        ("0755", 755),
        ("0o17", 15),
        ("0x1f", 31),
        ("-12", -12),
        ("1_000", "1_000"),
        ("1:30", "1:30"),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("~", None),
        ("null", None),
        ("2024-01-02", "2024-01-02"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(tmp_path: Path, scalar: str, value: object) -> None:
    assert read(tmp_path, f"v: {scalar}\n") == {"v": value}


def test_empty_value_is_null(tmp_path: Path) -> None:
    assert read(tmp_path, "v:\n") == {"v": None}


def test_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    data = read(tmp_path, "base: &base {a: 1, b: 2}\njob:\n  <<: *base\n  b: 3\nalso: *base\n")
    assert data == {"base": {"a": 1, "b": 2}, "job": {"a": 1, "b": 3}, "also": {"a": 1, "b": 2}}


def test_duplicate_key_is_an_error_naming_both_lines(tmp_path: Path) -> None:
    with pytest.raises(JobSpecError) as info:
        read(tmp_path, "name: a\ntasks:\n  - task_key: x\n    max_retries: 1\n    max_retries: 2\n")
    message = str(info.value)
    assert str(tmp_path / "job.yml") in message
    assert "'max_retries' appears twice in one mapping at lines 4 and 5" in message


def test_the_same_key_in_two_mappings_is_fine(tmp_path: Path) -> None:
    assert read(tmp_path, "a: {k: 1}\nb: {k: 2}\n") == {"a": {"k": 1}, "b": {"k": 2}}


@pytest.mark.parametrize(
    "text",
    [
        "name: !!python/object/apply:os.system ['true']\n",
        "name: !!python/name:os.system\n",
        "name: !custom x\n",
    ],
)
def test_tags_that_build_objects_are_refused_with_the_line(tmp_path: Path, text: str) -> None:
    with pytest.raises(JobSpecError, match=r"not plain data at line 1, column 7"):
        read(tmp_path, text)


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(JobSpecError, match=r"not valid YAML at line 3"):
        read(tmp_path, "a: 1\nb: [1, 2\n")
