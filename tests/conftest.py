from __future__ import annotations

import pytest

import ripple


@pytest.fixture
def client(tmp_path):
    c = ripple.connect(tmp_path / "state")
    yield c
    c.close()


@pytest.fixture
def bucket(client):
    return client.create_bucket("test-bucket")
