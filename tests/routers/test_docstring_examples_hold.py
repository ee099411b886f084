"""The worked examples in the routers' docstrings (and the CRD conversion's) are true."""

from __future__ import annotations

import doctest
import types

import pytest

from rollouts.devcluster import router_crds
from rollouts.routers import base, gateway_api, istio, nginx, registry, smi


@pytest.mark.parametrize(
    "module", [base, gateway_api, istio, nginx, registry, smi, router_crds], ids=lambda m: m.__name__
)
def test_docstring_examples(module: types.ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
