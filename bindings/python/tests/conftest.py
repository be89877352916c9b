"""Shared fixtures. run-tests.sh installs the package with pip into a
temporary directory and sets PMDEFLATE_TEST_INSTALLED to it: the tests must
then import that copy, not the source tree."""

import os

import pmdeflate
import pytest


def pytest_configure(config):
    where = os.environ.get("PMDEFLATE_TEST_INSTALLED")
    if where:
        got = os.path.realpath(pmdeflate.__file__)
        if not got.startswith(os.path.realpath(where) + os.sep):
            raise pytest.UsageError(f"pmdeflate imported from {got}, not from the install in {where}")


@pytest.fixture
def library_path():
    return pmdeflate.library_path
