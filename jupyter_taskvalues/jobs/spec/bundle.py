"""Read a Databricks Asset Bundle into resolved job settings, as ``databricks bundle validate`` does.

:func:`read_bundle` takes a parsed ``databricks.yml`` and returns one :class:`~.documents.RawJob` per
``resources.jobs.<key>``, with the chosen target applied and every ``${...}`` resolved:

- **Files**: ``include:`` (paths and globs relative to the bundle root); resources may be spread over them.
- **Target**: the ``target`` argument (``--target``), else the top-level ``default_target``, else the target
  marked ``default: true``, else the only target. A bundle with several targets and none chosen is an error
  naming them, as is a target that does not exist. ``targets.<t>.resources`` merge over the top-level
  resources as the CLI merges them: mappings by key, ``tasks`` by ``task_key``, ``job_clusters`` by
  ``job_cluster_key``, ``parameters`` by ``name``, ``environments`` by ``environment_key``; other lists are
  replaced. ``targets.<t>.bundle``, ``workspace`` and ``variables`` override the top level too.
  ``mode: development`` prefixes every job name with ``[dev <short_name>] ``, as deploying does.
- **Variables**: a value comes from, highest first, the ``variables`` argument (``--var name=value``), the
  environment (``BUNDLE_VAR_<name>``), the target (``targets.<t>.variables.<name>``), the variable's
  ``default``. ``type: complex`` variables hold mappings or lists (a ``--var``/environment value is read as
  JSON). A ``lookup`` variable needs a workspace to look its id up: here it must be given a value. A value
  given for a variable the bundle does not declare is an error.
- **Identity** (``${workspace.current_user.*}``): the ``user`` argument (``--user``), else
  ``$JUPYTER_TASKVALUES_USER``, else the OS user. ``userName`` is that text; ``short_name`` its part before any
  ``@``, lower-cased, with characters other than letters, digits and ``_`` made ``_``;
  ``domain_friendly_name`` the whole name the same way. Paths default as the CLI's do:
  ``root_path`` = ``/Workspace/Users/<userName>/.bundle/<bundle name>/<target>``, ``file_path``,
  ``artifact_path``, ``state_path``, ``resource_path`` = ``<root_path>/files|artifacts|state|resources``;
  ``workspace:`` in the bundle (or the target) overrides any of them.
- **Git** (``${bundle.git.branch|commit|origin_url}``): ``bundle.git.*`` when written, else asked of ``git`` in
  the bundle folder, only when referenced.
- **Resources** (``${resources.<type>.<key>.<field>}``): any field of any resource the bundle defines; ``id``
  is a local id (see :func:`local_id`), since nothing is deployed. A ``run_job_task``'s
  ``job_id: ${resources.jobs.<key>.id}`` naming a job of the bundle is left as written: the loader reads it
  to start that job.

Every unresolved reference is collected and raised as one :class:`~jupyter_taskvalues.exceptions.JobSpecError`
naming the file, the field, the reference and the fix (see :mod:`.substitution`).
"""

from __future__ import annotations

import getpass
import glob
import hashlib
import json
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from ...context import bundle_variables_from_environment, configured_user
from ...exceptions import JobSpecError
from .documents import RawJob, describe, fail, read_document, tag_notebook_dirs
from .substitution import NO_VALUE, Resolver, Unresolved
from .validation import did_you_mean

__all__ = ["KEYED_LISTS", "choose_target", "local_id", "merge_settings", "read_bundle", "resolve_user"]

#: The lists a target override merges item by item, and the field that identifies an item.
KEYED_LISTS: Final = {
    "tasks": "task_key",
    "job_clusters": "job_cluster_key",
    "parameters": "name",
    "environments": "environment_key",
    "clusters": "label",
}
_GLOB_CHARS: Final = frozenset("*?[")
_UNSAFE_RE: Final = re.compile(r"[^a-z0-9_]")
_JOB_ID_RE: Final = re.compile(r"\$\{resources\.jobs\.([\w-]+)\.id\}")


def local_id(root: Path, kind: str, key: str, settings: Mapping[Any, Any] | None = None) -> str:
    """Return the stable local id of a bundle resource (``${resources.<kind>.<key>.id}``, ``{{job.id}}``).

    A job's is a number of up to 15 digits derived from the bundle file's path and the job's key: the same on
    every load of the same bundle, different between jobs. Unity Catalog objects are named by their full name
    (a schema ``catalog.name``, a volume or registered model ``catalog.schema.name``), as Databricks does; any
    other resource gets a UUID-shaped id derived the same way as a job's.
    """
    settings = settings or {}
    if kind == "schemas" and "catalog_name" in settings:
        return f"{settings['catalog_name']}.{settings.get('name', key)}"
    if kind in ("volumes", "registered_models") and "catalog_name" in settings and "schema_name" in settings:
        return f"{settings['catalog_name']}.{settings['schema_name']}.{settings.get('name', key)}"
    digest = hashlib.sha256(f"{root}\0{kind}\0{key}".encode()).digest()
    if kind == "jobs":
        return str(int.from_bytes(digest[:6], "big") % 10**15 or 1)
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def resolve_user(user: str | None) -> str:
    """Return the local identity: ``user``, else ``$JUPYTER_TASKVALUES_USER``, else the OS user name."""
    if user:
        return user
    configured = configured_user()
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment nor the password database
        return "local-user"


def _identity(user: str) -> dict[str, Any]:
    lowered = user.lower()
    return {
        "userName": user,
        "user_name": user,
        "short_name": _UNSAFE_RE.sub("_", lowered.split("@", 1)[0]),
        "domain_friendly_name": _UNSAFE_RE.sub("_", lowered),
    }


def merge_settings(base: Any, override: Any) -> Any:
    """Merge a target's override over settings: mappings by key, :data:`KEYED_LISTS` item by item."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = dict(base)
    for key, value in override.items():
        if key in KEYED_LISTS and isinstance(value, list):
            merged[key] = _merge_list(merged.get(key), value, KEYED_LISTS[key])
        else:
            merged[key] = merge_settings(merged[key], value) if key in merged else value
    return merged


def _merge_list(base: Any, override: list[Any], id_field: str) -> list[Any]:
    merged = list(base) if isinstance(base, list) else []
    for item in override:
        ident = item.get(id_field) if isinstance(item, dict) else None
        for i, existing in enumerate(merged):
            if ident is not None and isinstance(existing, dict) and existing.get(id_field) == ident:
                merged[i] = merge_settings(existing, item)
                break
        else:
            merged.append(item)
    return merged


def _included_files(root: Path, patterns: Any) -> Iterator[Path]:
    if patterns is None:
        return
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise fail(
            root, "include: must be a list of file paths or glob patterns relative to the bundle root."
        )
    seen = {root}
    for pattern in patterns:
        if not _GLOB_CHARS & set(pattern):
            if not (root.parent / pattern).is_file():
                raise fail(root, f"include: {pattern!r} does not exist (relative to {str(root.parent)!r}).")
            matches = [pattern]
        else:
            matches = sorted(glob.glob(pattern, root_dir=root.parent, recursive=True))
        for match in matches:
            candidate = (root.parent / match).absolute()
            if candidate not in seen and candidate.is_file():
                seen.add(candidate)
                yield candidate


def choose_target(
    root: Path, targets: Mapping[str, Any], target: str | None, default_target: Any
) -> str | None:
    """Return the target to apply (``None`` for a bundle without targets).

    Raises
    ------
    JobSpecError
        ``target`` is not defined, or several targets exist and none is the default.
    """
    names = ", ".join(sorted(targets)) or "none"
    if target is not None:
        if target not in targets:
            raise fail(
                root,
                f"targets: target {target!r} is not defined (targets: {names}){did_you_mean(target, list(targets))}"
                " Pass one of them with --target NAME, or add it under targets: in databricks.yml.",
            )
        return target
    if isinstance(default_target, str) and default_target:
        if default_target not in targets:
            raise fail(root, f"default_target: {default_target!r} is not a target (targets: {names}).")
        return default_target
    defaults = [n for n, spec in targets.items() if isinstance(spec, dict) and spec.get("default") is True]
    if len(defaults) > 1:
        raise fail(root, f"targets: {', '.join(defaults)} are all marked default: true; mark only one.")
    if defaults:
        return defaults[0]
    if len(targets) == 1:
        return next(iter(targets))
    if not targets:
        return None
    raise fail(
        root,
        f"targets: the bundle has several targets ({names}) and none is marked default: true. "
        "Choose one with --target NAME, or mark one default: true.",
    )


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


class _Bundle:
    """What the bundle's files hold, gathered before a target is applied."""

    def __init__(self, root: Path, data: dict[Any, Any]) -> None:
        self.root = root
        self.resources: dict[str, dict[str, Any]] = {}
        self.defined_in: dict[tuple[str, str], Path] = {}
        self.targets: dict[str, Any] = {}
        self.variables: dict[str, Any] = {}
        self.bundle: dict[Any, Any] = _mapping(data.get("bundle"))
        self.workspace: dict[Any, Any] = _mapping(data.get("workspace"))
        self.python: Any = None
        files = [(root, data), *((p, read_document(p)) for p in _included_files(root, data.get("include")))]
        for file, doc in files:
            self._add(file, doc)

    def _add(self, file: Path, doc: Any) -> None:
        if doc is None:
            return
        if not isinstance(doc, dict):
            raise fail(file, f"it is {describe(doc)}; a bundle file is a mapping (resources:, targets:...).")
        resources = doc.get("resources") or {}
        if not isinstance(resources, dict):
            raise fail(
                file, "resources: must be a mapping of resource types (jobs, volumes...) to resources."
            )
        for kind, items in resources.items():
            if items is None:
                continue
            if not isinstance(items, dict):
                raise fail(file, f"resources.{kind} must be a mapping of keys to settings.")
            if kind == "jobs":
                tag_notebook_dirs(items, file.parent)
            self.add_resources(str(kind), items, file)
        targets = doc.get("targets")
        for name, spec in targets.items() if isinstance(targets, dict) else ():
            if isinstance(spec, dict):
                jobs = (
                    spec.get("resources", {}).get("jobs") if isinstance(spec.get("resources"), dict) else None
                )
                tag_notebook_dirs(jobs, file.parent)
            self.targets[str(name)] = merge_settings(self.targets.get(str(name), {}), spec or {})
        if isinstance(doc.get("variables"), dict):
            self.variables.update(doc["variables"])
        experimental = doc.get("experimental")
        python = doc.get("python") or (experimental.get("python") if isinstance(experimental, dict) else None)
        if python is not None:
            self.python = python

    def add_resources(self, kind: str, items: Mapping[Any, Any], file: Path) -> None:
        """Add resources of one type read from ``file``; a key defined twice is an error."""
        have = self.resources.setdefault(kind, {})
        for key, settings in items.items():
            if str(key) in have:
                where = self.defined_in[(kind, str(key))]
                what = f"job {key!r}" if kind == "jobs" else f"resources.{kind}.{key}"
                raise fail(file, f"{what} is defined twice: here and in {str(where)!r}.")
            if not isinstance(settings, dict):
                raise fail(file, f"resources.{kind}.{key} is {describe(settings)}; give its settings.")
            have[str(key)], self.defined_in[(kind, str(key))] = settings, file


def _variable_values(
    root: Path, declared: dict[str, Any], from_target: Any, given: Mapping[str, Any]
) -> dict[str, Any]:
    for name in given:
        if name not in declared:
            known = ", ".join(sorted(map(str, declared))) or "none"
            raise fail(
                root,
                f"--var {name}: the bundle declares no variable {name!r} (variables: {known})"
                f"{did_you_mean(name, list(map(str, declared)))} Declare it under variables: in databricks.yml.",
            )
    environment = bundle_variables_from_environment()
    target_values = from_target if isinstance(from_target, dict) else {}
    values: dict[str, Any] = {}
    for raw_name, written in declared.items():
        name = str(raw_name)
        spec = written if isinstance(written, dict) else {"default": written}
        complex_type = spec.get("type") == "complex"
        override = target_values.get(name, NO_VALUE)
        lookup = spec.get("lookup")
        if isinstance(override, dict) and not complex_type:
            lookup = override.get("lookup", lookup)
            override = override.get("default", NO_VALUE if "lookup" in override else override)
        if name in given:
            value = _from_text(given[name], complex_type)
        elif name in environment:
            value = _from_text(environment[name], complex_type)
        elif override is not NO_VALUE:
            value = override
        elif "default" in spec:
            value = spec["default"]
        elif lookup is not None:
            value = _lookup_value(name, lookup)
        else:
            value = NO_VALUE
        values[name] = value
    return values


def _from_text(value: Any, complex_type: bool) -> Any:
    if complex_type and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _lookup_value(name: str, lookup: Any) -> Any:
    what = ", ".join(f"{k} {v!r}" for k, v in lookup.items()) if isinstance(lookup, dict) else repr(lookup)

    def fail_lookup() -> Any:
        raise Unresolved(
            f"variable {name!r} is a lookup ({what}): finding its id needs a Databricks workspace. Give it a "
            f"value here: --var {name}=VALUE or BUNDLE_VAR_{name}=VALUE."
        )

    return fail_lookup


def _git(folder: Path, field: str, overrides: Mapping[Any, Any]) -> Any:
    if overrides.get(field):
        return overrides[field]
    commands = {
        "branch": ["git", "rev-parse", "--abbrev-ref", "HEAD"],
        "commit": ["git", "rev-parse", "HEAD"],
        "origin_url": ["git", "config", "--get", "remote.origin.url"],
    }

    def ask() -> str:
        try:
            done = subprocess.run(
                commands[field], cwd=folder, capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.SubprocessError) as e:
            raise Unresolved(
                f"git could not be run ({e}). Set bundle.git.{field} in databricks.yml."
            ) from None
        if done.returncode != 0 or not done.stdout.strip():
            raise Unresolved(
                f"git gives no {field} for {str(folder)!r} (not a git checkout, or no such setting). "
                f"Set bundle.git.{field} in databricks.yml, or run from a checkout."
            )
        return done.stdout.strip()

    return ask


def _explanations() -> dict[str, Any]:
    def var(path: str) -> str:
        name = path.split(".")[1].split("[", maxsplit=1)[0] if "." in path else "NAME"
        return (
            f"Give it a value: --var {name}=VALUE, the environment variable BUNDLE_VAR_{name}, "
            f"targets.<target>.variables.{name}, or variables.{name}.default."
        )

    def workspace(path: str) -> str:
        return "Set it under workspace: in databricks.yml; the user comes from --user or $JUPYTER_TASKVALUES_USER."

    def resources(path: str) -> str:
        return "Only resources the bundle defines can be referenced locally; define it, or use its value."

    def bundle(path: str) -> str:
        return "Set it under bundle: in databricks.yml."

    return {"var": var, "variables": var, "workspace": workspace, "resources": resources, "bundle": bundle}


def read_bundle(
    root: Path,
    data: dict[Any, Any],
    *,
    target: str | None = None,
    variables: Mapping[str, Any] | None = None,
    user: str | None = None,
) -> list[RawJob]:
    """Return the bundle's jobs, target applied and references resolved (see the module docstring).

    Raises
    ------
    JobSpecError
        A file is malformed, the target does not exist, a variable given is not declared, or a reference
        cannot be resolved (all of those are listed, each with its field).
    """
    found = _Bundle(root, data)
    chosen = choose_target(root, found.targets, target, data.get("default_target"))
    overrides = found.targets.get(chosen, {}) if chosen is not None else {}
    overrides = overrides if isinstance(overrides, dict) else {}
    target_resources = _mapping(overrides.get("resources"))
    resources = {k: dict(v) for k, v in found.resources.items()}
    for kind, items in target_resources.items():
        for key, settings in items.items() if isinstance(items, dict) else ():
            have = resources.setdefault(str(kind), {})
            have[str(key)] = merge_settings(have.get(str(key), {}), settings)
            found.defined_in.setdefault((str(kind), str(key)), root)
    bundle = merge_settings(found.bundle, overrides.get("bundle") or {})
    workspace = merge_settings(found.workspace, overrides.get("workspace") or {})
    name = str(bundle.get("name", root.parent.name))
    target_name = chosen or "default"
    identity = _identity(resolve_user(user))
    values = _variable_values(root, found.variables, overrides.get("variables"), dict(variables or {}))
    git_overrides = bundle.get("git") if isinstance(bundle.get("git"), dict) else {}
    git = {f: _git(root.parent, f, git_overrides) for f in ("branch", "commit", "origin_url")}
    paths = {
        "root_path": f"/Workspace/Users/{identity['userName']}/.bundle/{name}/{target_name}",
        "file_path": "${workspace.root_path}/files",
        "artifact_path": "${workspace.root_path}/artifacts",
        "state_path": "${workspace.root_path}/state",
        "resource_path": "${workspace.root_path}/resources",
    }
    tree: dict[str, Any] = {
        "var": values,
        "variables": {k: {"value": v} for k, v in values.items()},
        "bundle": {**bundle, "name": name, "target": target_name, "environment": target_name, "git": git},
        "workspace": {**paths, **workspace, "current_user": identity},
        "resources": {},
    }
    jobs = resources.setdefault("jobs", {})

    def keep(field: str, text: str) -> bool:
        match = _JOB_ID_RE.fullmatch(text)
        return field.endswith("run_job_task.job_id") and match is not None and match.group(1) in jobs

    resolver = Resolver(tree, _explanations(), keep)
    resolved_values = _resolved_values(resolver, values)
    python_warnings: list[tuple[str | None, str]] = []
    if found.python is not None:
        from .python_resources import load_python_resources  # only bundles with Python resources need it

        python_warnings = load_python_resources(
            root, found.python, target_name, resolved_values, resources, found.defined_in
        )
    written = {k: v.get("name") for k, v in jobs.items()}
    if overrides.get("mode") == "development":
        prefix = f"[dev {identity['short_name']}] "
        for key, settings in jobs.items():
            jobs[key] = {**settings, "name": prefix + str(settings.get("name", key))}
    tree["resources"] = {
        kind: {
            key: {**settings, "id": local_id(root, kind, key, settings)} for key, settings in items.items()
        }
        for kind, items in resources.items()
    }
    result: list[RawJob] = []
    errors: list[tuple[Path, str]] = []
    for key, settings in resources.get("jobs", {}).items():
        problems: list[str] = []
        resolved = resolver.resolve(settings, f"resources.jobs.{key}", problems)
        file = found.defined_in[("jobs", key)]
        errors.extend((file, p) for p in dict.fromkeys(problems))
        result.append(
            RawJob(
                key,
                resolved,
                file,
                root,
                local_id(root, "jobs", key),
                target=chosen,
                variables=resolved_values,
                written_name=str(written[key]) if isinstance(written.get(key), str) else None,
                user=identity["userName"],
                path_in_file=f"resources.jobs.{key}",
                warnings=tuple(text for about, text in python_warnings if about in (None, key)),
            )
        )
    if errors:
        raise _unresolved_error(root, errors)
    if not result:
        raise fail(
            root, "the bundle defines no jobs (resources.jobs is empty in it and in its included files)."
        )
    return result


def _resolved_values(resolver: Resolver, values: Mapping[str, Any]) -> dict[str, Any]:
    """The variables that have a value, references resolved (those that fail are reported where used)."""
    shown = {}
    for name in values:
        try:
            shown[name] = resolver.lookup(f"var.{name}")
        except Unresolved:  # expected: no value, a lookup, a bad reference; reported where it is used
            continue
    return shown


def _with_line(file: Path, problem: str) -> str:
    """``problem`` (``"<field>: <why>"``) with the line of ``file`` that writes the field, when YAML says it."""
    field = problem.split(": ", 1)[0]
    if file.suffix.lower() not in (".yml", ".yaml"):
        return problem
    from .yaml12 import line_of  # the file was read as YAML already: the import is loaded

    try:
        line = line_of(file.read_text(encoding="utf-8-sig"), field)
    except (OSError, UnicodeDecodeError):  # expected: the file changed since it was read; no line then
        line = None
    return problem if line is None else f"line {line}: {problem}"


def _unresolved_error(root: Path, errors: list[tuple[Path, str]]) -> JobSpecError:
    errors = [(f, _with_line(f, p)) for f, p in errors]
    lines = [p if f == root else f"{f}: {p}" for f, p in errors]
    what = (
        "a reference that cannot be resolved"
        if len(lines) == 1
        else f"{len(lines)} references that cannot be resolved"
    )
    message = f"Job file {str(root)!r}: {what}:\n" + "\n".join(f"  {line}" for line in lines)
    return JobSpecError(message, problems=lines, path=str(root))
