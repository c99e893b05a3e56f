"""The docs name the project's files as they are.

docs/design.md names every module of the package with its docstring's first line (a generated table), and
every file path or test file the README and docs/ name exists.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = runpy.run_path(str(ROOT / "scripts" / "module-table"))


def _table_in_doc() -> str:
    doc = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    begin, end = GENERATOR["BEGIN"], GENERATOR["END"]
    assert begin in doc and end in doc, "docs/design.md lost the markers of its module table"
    return doc[doc.index(begin) : doc.index(end) + len(end)]


def test_the_module_table_of_the_design_doc_matches_the_package() -> None:
    in_doc = _table_in_doc().splitlines()
    wanted = GENERATOR["table"]().splitlines()
    missing = sorted(set(wanted) - set(in_doc))
    stale = sorted(set(in_doc) - set(wanted))
    assert not missing and not stale, (
        "docs/design.md's module table is out of date; run `scripts/module-table --write`.\n"
        f"Missing or changed: {missing}\nGone or changed: {stale}"
    )


def test_the_generator_lists_every_module_once() -> None:
    rows = GENERATOR["modules"]()
    paths = [path for path, _ in rows]
    package = ROOT / "jupyter_taskvalues"
    on_disk = {
        path.relative_to(ROOT).as_posix()
        for path in package.rglob("*.py")
        if "labextension" not in path.parts and path.name != "__main__.py"
    }
    assert len(paths) == len(set(paths))
    assert set(paths) == on_disk
    assert all(line for _, line in rows), "every module has a docstring whose first line says what it is"


#: The documents that name the project's files (the changelog is history: it names files as they were).
DOCS = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_PATH_RE = re.compile(r"\b(?:tests|jupyter_taskvalues|benchmarks|scripts|examples)/[\w./-]*\w")
_TEST_FILE_RE = re.compile(r"\btest_\w+\.py\b")


def test_every_file_the_docs_name_exists() -> None:
    test_files = {path.name for path in (ROOT / "tests").rglob("test_*.py")}
    gone = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        gone += [f"{doc.name}: {p}" for p in sorted(set(_PATH_RE.findall(text))) if not (ROOT / p).exists()]
        gone += [f"{doc.name}: {t}" for t in sorted(set(_TEST_FILE_RE.findall(text))) if t not in test_files]
    assert not gone, f"the docs name files that do not exist (moved or renamed?): {gone}"
