"""Every installed backend passes the conformance kit (``dmlbench.backends.conformance``)."""

import pytest

from dmlbench.backends.conformance import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(backend, check):
    check(backend)
