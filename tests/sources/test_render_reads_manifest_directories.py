"""Directory mode: YAML and JSON files, in path order, one level or recursive, include/exclude globs, several
documents per file, Lists flattened, empty documents skipped; each manifest knows its file, document and line."""

from __future__ import annotations

import json
import pathlib
import textwrap

import pytest

from rollouts.sources import render


def write(root: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return root


def configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"


def names(manifests: tuple[render.Manifest, ...]) -> list[str]:
    return [m.name for m in manifests]


@pytest.fixture
def tree(tmp_path: pathlib.Path) -> pathlib.Path:
    return write(
        tmp_path / "repo",
        {
            "apps/b.yaml": configmap("b"),
            "apps/a.yml": configmap("a"),
            "apps/c.json": json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            "apps/README.md": "not a manifest\n",
            "apps/values.txt": "ignored: true\n",
            "apps/sub/d.yaml": configmap("d"),
            "apps/sub/deeper/e.yaml": configmap("e"),
            "apps/tests/t.yaml": configmap("t"),
        },
    )


def test_one_level_by_default(tree: pathlib.Path) -> None:
    manifests = render.render(root=tree, path="apps")

    assert names(manifests) == ["a", "b", "c"]
    assert [m.source for m in manifests] == ["apps/a.yml", "apps/b.yaml", "apps/c.json"]


def test_recurse_walks_subdirectories_in_path_order(tree: pathlib.Path) -> None:
    manifests = render.render(root=tree, path="apps", directory=render.DirectoryOptions(recurse=True))

    assert names(manifests) == ["a", "b", "c", "d", "e", "t"]
    assert manifests[3].source == "apps/sub/d.yaml"


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        pytest.param("*.yaml", "", ["b", "d", "e", "t"], id="star-crosses-directories"),
        pytest.param("{a.yml,sub/*}", "", ["a", "d", "e"], id="alternatives"),
        pytest.param("", "tests/*", ["a", "b", "c", "d", "e"], id="exclude-a-directory"),
        pytest.param("*.yaml", "{tests/*,sub/deeper/*}", ["b", "d"], id="exclude-wins-over-include"),
        pytest.param("?.json", "", ["c"], id="question-mark"),
        pytest.param("[ab].*", "", ["a", "b"], id="character-class"),
    ],
)
def test_include_and_exclude_globs(
    tree: pathlib.Path, include: str, exclude: str, expected: list[str]
) -> None:
    options = render.DirectoryOptions(recurse=True, include=include, exclude=exclude)

    assert names(render.render(root=tree, path="apps", directory=options)) == expected


def test_several_documents_lists_and_empty_documents(tmp_path: pathlib.Path) -> None:
    root = write(
        tmp_path,
        {
            "all.yaml": """\
                # leading comment, then the first document
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: one
                ---
                ---
                # only a comment
                ---
                apiVersion: v1
                kind: List
                items:
                  - apiVersion: v1
                    kind: Service
                    metadata:
                      name: two
                  - apiVersion: apps/v1
                    kind: Deployment
                    metadata:
                      name: three
                --- # a comment after the separator
                apiVersion: v1
                kind: ServiceList
                items: []
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: four}
                ...
                """,
        },
    )

    manifests = render.render(root=root)

    assert [(m.kind, m.name, m.index, m.item, m.line) for m in manifests] == [
        ("ConfigMap", "one", 0, None, 3),
        ("Service", "two", 3, 0, 11),
        ("Deployment", "three", 3, 1, 11),
        ("Secret", "four", 5, None, 27),
    ]
    assert manifests[1].location == "all.yaml, document 4, item 1 (line 11)"


def test_a_json_file_may_hold_an_array_of_objects(tmp_path: pathlib.Path) -> None:
    objects = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}} for n in ("x", "y")]
    root = write(tmp_path, {"objects.json": json.dumps(objects)})

    manifests = render.render(root=root)

    assert [(m.name, m.index) for m in manifests] == [("x", 0), ("y", 1)]


def test_a_hook_may_use_generate_name(tmp_path: pathlib.Path) -> None:
    root = write(
        tmp_path,
        {
            "hook.yaml": """\
                apiVersion: batch/v1
                kind: Job
                metadata:
                  generateName: migrate-
                  annotations:
                    argocd.argoproj.io/hook: PreSync
                """
        },
    )

    (manifest,) = render.render(root=root)

    assert manifest.name == "migrate-"
    assert manifest.body["metadata"]["generateName"] == "migrate-"


def test_an_empty_directory_has_no_manifests(tmp_path: pathlib.Path) -> None:
    assert render.render(root=tmp_path) == ()


def test_inline_text_is_parsed_like_a_file() -> None:
    manifests, issues = render.parse_documents(configmap("a") + "---\n" + configmap("b"), source="inline")

    assert issues == []
    assert [(m.name, m.source, m.index) for m in manifests] == [("a", "inline", 0), ("b", "inline", 1)]
