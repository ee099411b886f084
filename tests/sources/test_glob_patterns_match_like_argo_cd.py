"""`directory.include`/`exclude` globs match relative paths the way Argo CD's (gobwas, no separators) do, and the
worked examples in the sources modules' docstrings hold."""

from __future__ import annotations

import doctest
import types

import pytest

from rollouts.sources import git, render


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        pytest.param("*.yaml", "app.yaml", True, id="star"),
        pytest.param("*.yaml", "sub/dir/app.yaml", True, id="star-crosses-slashes"),
        pytest.param("*.yaml", "app.yml", False, id="suffix-differs"),
        pytest.param("{*.yml,*.yaml}", "app.yml", True, id="alternatives"),
        pytest.param("{config.yaml,env-use2.yaml}", "env-use2.yaml", True, id="argo-docs-example"),
        pytest.param("{config.yaml,env-use2.yaml}", "env-use1.yaml", False, id="argo-docs-example-miss"),
        pytest.param("some-directory/*", "some-directory/a.yaml", True, id="directory"),
        pytest.param("some-directory/*", "other/some-directory/a.yaml", False, id="anchored-at-start"),
        pytest.param("**/README.md", "docs/README.md", True, id="double-star"),
        pytest.param("app-?.yaml", "app-1.yaml", True, id="question"),
        pytest.param("app-?.yaml", "app-12.yaml", False, id="question-is-one-char"),
        pytest.param("[ab]*.yaml", "b.yaml", True, id="class"),
        pytest.param("[!ab]*.yaml", "b.yaml", False, id="negated-class"),
        pytest.param("[a-c].yaml", "c.yaml", True, id="range"),
        pytest.param("{a,{b,c}}.yaml", "c.yaml", True, id="nested-alternatives"),
        pytest.param("a.yaml", "aXyaml", False, id="dot-is-literal"),
        pytest.param(r"\*.yaml", "*.yaml", True, id="escaped-star"),
        pytest.param(r"\*.yaml", "a.yaml", False, id="escaped-star-is-literal"),
        pytest.param("(x)+.yaml", "(x)+.yaml", True, id="regex-characters-are-literal"),
    ],
)
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert render.matches(pattern, path) is expected


@pytest.mark.parametrize("module", [git, render], ids=lambda m: m.__name__)
def test_docstring_examples(module: types.ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
