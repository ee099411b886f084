"""A source with mistakes fails with every problem listed, each naming the file, the document (and line), and
the kind and name when they are known; the good documents around a bad one are still read."""

from __future__ import annotations

import os
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


def problems(root: pathlib.Path, **kwargs: object) -> list[str]:
    with pytest.raises(render.RenderError) as caught:
        render.render(root=root, **kwargs)  # type: ignore[arg-type]
    return [str(issue) for issue in caught.value.issues]


def test_invalid_yaml_names_file_document_and_line(tmp_path: pathlib.Path) -> None:
    root = write(
        tmp_path,
        {
            "app.yaml": """\
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: fine
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: broken
                data:
                  key: [unclosed
                ---
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: after
                """
        },
    )

    found, issues = render.parse_documents((root / "app.yaml").read_text(), source="app.yaml")

    assert [m.name for m in found] == ["fine", "after"]
    assert [str(i) for i in issues] == [
        "app.yaml, document 2 (line 6): invalid YAML at line 11, column 17: expected ',' or ']', but got "
        "'<stream end>' (while parsing a flow sequence)"
    ]
    assert problems(root) == [str(issues[0])]


def test_objects_without_api_version_kind_or_name(tmp_path: pathlib.Path) -> None:
    root = write(
        tmp_path,
        {
            "a.yaml": """\
                kind: Deployment
                metadata:
                  name: web
                ---
                apiVersion: v1
                metadata:
                  name: nameless-kind
                ---
                apiVersion: v1
                kind: Service
                metadata: {}
                ---
                apiVersion: batch/v1
                kind: Job
                metadata:
                  generateName: not-a-hook-
                ---
                - just
                - a list
                ---
                apiVersion: v1
                kind: List
                items:
                  - apiVersion: v1
                    kind: ConfigMap
                    metadata:
                      name: ok
                  - kind: Secret
                    metadata:
                      name: creds
                """,
            "b.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 7}}',
            "c.json": "{not json",
        },
    )

    assert problems(root) == [
        "a.yaml, document 1 (line 1) (Deployment web): missing apiVersion",
        "a.yaml, document 2 (line 5) (nameless-kind): missing kind",
        "a.yaml, document 3 (line 9) (Service): missing metadata.name",
        "a.yaml, document 4 (line 13) (Job): missing metadata.name (generateName is only supported on hooks, "
        "with an argocd.argoproj.io/hook annotation)",
        "a.yaml, document 5 (line 18): not a Kubernetes object: expected a mapping, found a list",
        "a.yaml, document 6, item 2 (line 21) (Secret creds): missing apiVersion",
        "b.json, document 1 (ConfigMap): metadata.name must be a string",
        "c.json: invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes",
    ]


def test_the_error_message_lists_all_problems(tmp_path: pathlib.Path) -> None:
    root = write(tmp_path, {"a.yaml": "kind: A\nmetadata: {name: x}\n", "b.yaml": "key: [\n"})

    with pytest.raises(render.RenderError) as caught:
        render.render(root=root)

    assert str(caught.value) == (
        "2 problems: a.yaml, document 1 (line 1) (A x): missing apiVersion; "
        "b.yaml, document 1 (line 1): invalid YAML at line 1, column 7: expected the node content, but found "
        "'<stream end>' (while parsing a flow node)"
    )


def test_links_out_of_the_repository_and_jsonnet_are_refused(tmp_path: pathlib.Path) -> None:
    outside = write(
        tmp_path / "outside", {"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"}
    )
    root = write(
        tmp_path / "repo", {"app/ok.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n"}
    )
    os.symlink(outside / "secret.yaml", root / "app" / "leak.yaml")
    write(root, {"app/main.jsonnet": "{}\n"})

    assert problems(root, path="app") == [
        "app/leak.yaml: symbolic link leads outside the repository",
        "app/main.jsonnet: Jsonnet is not supported by rollwave",
    ]
