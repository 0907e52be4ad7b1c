"""Fixtures of the saliency tests."""

from __future__ import annotations

import pytest
from squares import train_square_model


@pytest.fixture(scope="session")
def square_model():
    """(trained square classifier, an untrained twin), both wrapped for explain."""
    return train_square_model()
