"""Manifests from a path in a checkout: a directory of YAML/JSON files, or a Kustomize folder.

Contract:
- Kustomize when the directory holds `kustomization.yaml`, `kustomization.yml` or `Kustomization` and no
  `directory` options were given (as in Argo CD, setting `spec.source.directory` makes it a plain directory).
  It is rendered by `<kubectl> kustomize <dir>`: the kubectl is a parameter (the one `rollwave dev env` puts on PATH
  in development), so the Kustomize version is the one that kubectl embeds.
- Directory mode reads `*.yaml`, `*.yml` and `*.json` files, in the directory only or recursively (`recurse`),
  sorted by path. `include`/`exclude` are Argo CD's glob patterns, matched against the path relative to the
  application's directory: `*` matches any text, `/` included; `?` one character; `[a-z]`/`[!a-z]` a class;
  `{a.yaml,b/*.yaml}` alternatives. `exclude` wins over `include`. Jsonnet files are reported, not rendered.
- A YAML file may hold several documents (`---`); empty documents are skipped; a `List` (or `<Kind>List` with
  `items`) is flattened into its items. A JSON file holds one object, or an array of objects.
- Each manifest carries the file it came from (relative to the repository root), its 0-based document index in
  that file, its position in a List (`item`) and the 1-based line where its document starts.
- Every problem is collected before failing: invalid YAML/JSON, a document that is not a mapping, a document
  without apiVersion, kind or metadata.name (`generateName` is accepted on hooks only), a symlink leading
  outside the repository, a failing kustomize. `RenderError.issues` lists them all, each naming the file, the
  document and, when known, the kind and name.

    >>> matches("{config.yaml,env-*.yaml}", "env-use2.yaml")
    True
    >>> matches("some-directory/*", "some-directory/deep/app.yaml")
    True
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

import yaml

from rollouts.sources import commands

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
HOOK_ANNOTATIONS = ("argocd.argoproj.io/hook", "helm.sh/hook")
DEFAULT_TIMEOUT_SECONDS = 60.0

SourceType = Literal["Directory", "Kustomize"]

_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryOptions:
    """`spec.source.directory` of an Application."""

    recurse: bool = False
    include: str = ""
    exclude: str = ""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """One Kubernetes object from the source, and where it was written."""

    body: dict[str, Any]
    source: str
    index: int
    item: int | None = None
    line: int | None = None

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        metadata = self.body.get("metadata") or {}
        return str(metadata.get("name") or metadata.get("generateName") or "")

    @property
    def namespace(self) -> str | None:
        namespace = (self.body.get("metadata") or {}).get("namespace")
        return str(namespace) if namespace else None

    @property
    def location(self) -> str:
        return _location(self.source, self.index, self.item, self.line)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RenderIssue:
    """One problem in the source. `index` is the 0-based document in `source` (None: the whole file)."""

    source: str
    message: str
    index: int | None = None
    item: int | None = None
    line: int | None = None
    kind: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        where = _location(self.source, self.index, self.item, self.line)
        what = " ".join(part for part in (self.kind, self.name) if part)
        return f"{where}{f' ({what})' if what else ''}: {self.message}"


class RenderError(Exception):
    """The source could not be rendered. `issues` holds every problem found, in file order."""

    def __init__(self, issues: Sequence[RenderIssue]) -> None:
        self.issues = tuple(issues)
        if len(self.issues) == 1:
            message = str(self.issues[0])
        else:
            message = f"{len(self.issues)} problems: " + "; ".join(str(issue) for issue in self.issues)
        super().__init__(message)
        self.message = message


def source_type(directory: pathlib.Path, *, directory_options: DirectoryOptions | None = None) -> SourceType:
    """Kustomize when a kustomization file is present and no directory options were set."""
    if directory_options is None and any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
        return "Kustomize"
    return "Directory"


def render(
    *,
    root: pathlib.Path,
    path: str = "",
    directory: DirectoryOptions | None = None,
    kubectl: str = "kubectl",
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> tuple[Manifest, ...]:
    """The manifests at `path` inside the checkout `root`. Raises RenderError with every problem found.

    `directory=None` means "not set in the Application": a Kustomize folder is then rendered with kustomize.
    """
    base = root / path if path else root
    if source_type(base, directory_options=directory) == "Kustomize":
        manifests, issues = _kustomize(
            root=root, directory=base, kubectl=kubectl, timeout_seconds=timeout_seconds
        )
    else:
        manifests, issues = _directory(root=root, directory=base, options=directory or DirectoryOptions())
    if issues:
        raise RenderError(issues)
    return tuple(manifests)


def parse_documents(text: str, *, source: str) -> tuple[list[Manifest], list[RenderIssue]]:
    """The objects in a YAML stream (also used for an Application's `inline` source), and the problems found."""
    manifests: list[Manifest] = []
    issues: list[RenderIssue] = []
    for index, (start_line, chunk) in enumerate(_split_documents(text)):
        line = _first_content_line(chunk, start_line)
        try:
            document = yaml.safe_load(chunk)
        except yaml.YAMLError as err:
            issues.append(
                RenderIssue(source=source, index=index, line=line, message=_yaml_problem(err, start_line))
            )
            continue
        _collect(document, source=source, index=index, line=line, manifests=manifests, issues=issues)
    return manifests, issues


def parse_json(text: str, *, source: str) -> tuple[list[Manifest], list[RenderIssue]]:
    """The objects in a JSON file: one object, or an array of objects (each its own document)."""
    manifests: list[Manifest] = []
    issues: list[RenderIssue] = []
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        return [], [
            RenderIssue(
                source=source, message=f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
            )
        ]
    documents = document if isinstance(document, list) else [document]
    for index, each in enumerate(documents):
        _collect(each, source=source, index=index, line=None, manifests=manifests, issues=issues)
    return manifests, issues


def matches(pattern: str, relative_path: str) -> bool:
    """Whether `relative_path` matches an Argo CD directory glob (see the module docstring)."""
    return re.fullmatch(_glob_regex(pattern), relative_path, flags=re.DOTALL) is not None


# -- directory mode --------------------------------------------------------------------------------------------------


def _directory(
    *, root: pathlib.Path, directory: pathlib.Path, options: DirectoryOptions
) -> tuple[list[Manifest], list[RenderIssue]]:
    manifests: list[Manifest] = []
    issues: list[RenderIssue] = []
    real_root = root.resolve()
    for file in _files(directory, recurse=options.recurse):
        relative_to_app = file.relative_to(directory).as_posix()
        if options.exclude and matches(options.exclude, relative_to_app):
            continue
        if options.include and not matches(options.include, relative_to_app):
            continue
        source = file.relative_to(root).as_posix()
        if file.suffix == ".jsonnet":
            issues.append(RenderIssue(source=source, message="Jsonnet is not supported by rollwave"))
            continue
        if not file.resolve().is_relative_to(real_root):
            issues.append(RenderIssue(source=source, message="symbolic link leads outside the repository"))
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            issues.append(RenderIssue(source=source, message=f"cannot read the file: {err}"))
            continue
        parse = parse_json if file.suffix == ".json" else parse_documents
        found, problems = parse(text, source=source)
        manifests += found
        issues += problems
    return manifests, issues


def _files(directory: pathlib.Path, *, recurse: bool) -> Iterator[pathlib.Path]:
    found: list[pathlib.Path] = []
    for current, subdirectories, names in os.walk(directory):
        subdirectories.sort()
        if not recurse:
            subdirectories.clear()
        for name in names:
            if name.endswith((*MANIFEST_SUFFIXES, ".jsonnet")):
                found.append(pathlib.Path(current, name))
    yield from sorted(found, key=lambda p: p.relative_to(directory).as_posix())


# -- kustomize -------------------------------------------------------------------------------------------------------


def _kustomize(
    *, root: pathlib.Path, directory: pathlib.Path, kubectl: str, timeout_seconds: float
) -> tuple[list[Manifest], list[RenderIssue]]:
    kustomization = next(directory / name for name in KUSTOMIZATION_FILES if (directory / name).is_file())
    source = kustomization.relative_to(root).as_posix()
    result = commands.run([kubectl, "kustomize", str(directory)], timeout_seconds=timeout_seconds)
    if result.returncode != 0:
        detail = (
            result.stderr.strip() or result.stdout.strip() or f"exit code {result.returncode}"
        ).removeprefix("error: ")
        # kustomize names files by absolute path; the cache directory means nothing to the user.
        detail = detail.replace(f"{root.resolve()}/", "").replace(f"{root}/", "")
        return [], [RenderIssue(source=source, message=f"kustomize failed: {detail}")]
    return parse_documents(result.stdout, source=source)


# -- documents -------------------------------------------------------------------------------------------------------


def _split_documents(text: str) -> list[tuple[int, str]]:
    """The documents of a YAML stream as (1-based first line, text), split at `---` lines.

    Splitting by hand (rather than `yaml.safe_load_all`) lets one broken document be reported while the others are
    still read. Text before the first `---` that holds no content (comments, directives) is not a document.
    """
    chunks: list[tuple[int, list[str]]] = [(1, [])]
    for number, line in enumerate(text.splitlines(), start=1):
        if _SEPARATOR.match(line):
            rest = line[3:].strip()
            if rest and not rest.startswith("#"):
                chunks.append((number, [rest]))  # `--- {a: 1}`: the document starts on this line
            else:
                chunks.append((number + 1, []))
        else:
            chunks[-1][1].append(line)
    documents = [(start, "\n".join(lines)) for start, lines in chunks]
    if len(documents) > 1 and _is_preamble(documents[0][1]):
        directives = documents[0][1]
        start, first = documents[1]
        documents = [(start, f"{directives}\n---\n{first}" if "%" in directives else first), *documents[2:]]
    return documents


def _is_preamble(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith(("#", "%")) for line in text.splitlines())


def _first_content_line(chunk: str, start_line: int) -> int:
    for offset, line in enumerate(chunk.splitlines()):
        if line.strip() and not line.lstrip().startswith(("#", "%", "---")):
            return start_line + offset
    return start_line


def _yaml_problem(err: yaml.YAMLError, start_line: int) -> str:
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        problem = err.problem or "invalid YAML"
        context = f" ({err.context})" if err.context else ""
        return f"invalid YAML at line {start_line + mark.line}, column {mark.column + 1}: {problem}{context}"
    return f"invalid YAML: {err}"


def _collect(
    document: Any,
    *,
    source: str,
    index: int,
    line: int | None,
    manifests: list[Manifest],
    issues: list[RenderIssue],
) -> None:
    if document is None:
        return  # an empty document
    if not isinstance(document, Mapping):
        issues.append(
            RenderIssue(
                source=source,
                index=index,
                line=line,
                message=f"not a Kubernetes object: expected a mapping, found {_type_name(document)}",
            )
        )
        return
    items = document.get("items")
    kind = document.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for position, item in enumerate(items):
            if item is None:
                continue
            _check_and_add(
                item, source=source, index=index, item=position, line=line, into=(manifests, issues)
            )
        return
    _check_and_add(document, source=source, index=index, item=None, line=line, into=(manifests, issues))


def _check_and_add(
    document: Any,
    *,
    source: str,
    index: int,
    item: int | None,
    line: int | None,
    into: tuple[list[Manifest], list[RenderIssue]],
) -> None:
    manifests, issues = into
    problem = _problem(document)
    if problem is not None:
        kind = document.get("kind") if isinstance(document, Mapping) else None
        metadata = document.get("metadata") if isinstance(document, Mapping) else None
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        issues.append(
            RenderIssue(
                source=source,
                index=index,
                item=item,
                line=line,
                kind=kind if isinstance(kind, str) and kind else None,
                name=name if isinstance(name, str) and name else None,
                message=problem,
            )
        )
        return
    manifests.append(Manifest(body=dict(document), source=source, index=index, item=item, line=line))


def _problem(document: Any) -> str | None:
    """What makes `document` unusable as a Kubernetes object, or None."""
    if not isinstance(document, Mapping):
        return f"not a Kubernetes object: expected a mapping, found {_type_name(document)}"
    missing = [
        key for key in ("apiVersion", "kind") if not isinstance(document.get(key), str) or not document[key]
    ]
    metadata = document.get("metadata")
    if metadata is not None and not isinstance(metadata, Mapping):
        missing.append("metadata (a mapping)")
        metadata = None
    metadata = metadata or {}
    name = metadata.get("name")
    if name is not None and not isinstance(name, str):
        return "metadata.name must be a string"
    if not name:
        annotations = metadata.get("annotations") or {}
        is_hook = isinstance(annotations, Mapping) and any(annotations.get(key) for key in HOOK_ANNOTATIONS)
        if metadata.get("generateName") and not is_hook:
            missing.append(
                "metadata.name (generateName is only supported on hooks, with an argocd.argoproj.io/hook annotation)"
            )
        elif not metadata.get("generateName"):
            missing.append("metadata.name")
    return f"missing {', '.join(missing)}" if missing else None


def _type_name(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _location(source: str, index: int | None, item: int | None, line: int | None) -> str:
    parts = [source]
    if index is not None:
        parts.append(f"document {index + 1}")
    if item is not None:
        parts.append(f"item {item + 1}")
    where = ", ".join(parts)
    return f"{where} (line {line})" if line is not None else where


# -- Argo CD globs ---------------------------------------------------------------------------------------------------


def _glob_regex(pattern: str) -> str:
    """A regular expression for an Argo CD (gobwas) glob without separators."""
    out: list[str] = []
    depth = 0
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            out.append(re.escape(pattern[position + 1]))
            position += 2
            continue
        if char == "*":
            while position + 1 < len(pattern) and pattern[position + 1] == "*":
                position += 1
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", position + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[position + 1 : end]
                negate = body.startswith("!")
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[")
                out.append(f"[{'^' if negate else ''}{body}]")
                position = end
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(char))
        position += 1
    out.extend(")" * depth)
    return "".join(out)
