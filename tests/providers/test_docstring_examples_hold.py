"""The worked examples in the providers' docstrings are true (they are the documentation users read)."""

from __future__ import annotations

import doctest
import types

import pytest

from rollouts.providers import base, job, prometheus, registry, web


@pytest.mark.parametrize("module", [base, job, prometheus, registry, web], ids=lambda m: m.__name__)
def test_docstring_examples(module: types.ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
