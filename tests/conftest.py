"""Shared fixtures: random generators and the PyTorch oracle."""

import importlib
import os

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh generator with a fixed seed, so every test is reproducible."""
    return np.random.default_rng(20261121)


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the float64 oracle.

    Skipped with a visible reason where torch is not installed; ``make test``
    sets ``RNN_REQUIRE_TORCH=1``, which turns that skip into a failure so that
    CI can never pass with the oracle silently missing.
    """
    try:
        module = importlib.import_module("torch")
    except ImportError:
        if os.environ.get("RNN_REQUIRE_TORCH") == "1":
            pytest.fail("torch is required (RNN_REQUIRE_TORCH=1) but cannot be imported: pip install -e '.[test]'")
        pytest.skip("torch is not installed: the PyTorch oracle tests need pip install -e '.[test]'")
    module.set_default_dtype(module.float64)
    return module
