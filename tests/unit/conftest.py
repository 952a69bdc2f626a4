"""Fixtures the CLI unit tests share: a fake API server and a kubeconfig for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.cli_fakeapi import FakeApi, write_kubeconfig


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    f = FakeApi().start()
    yield f
    f.stop()


@pytest.fixture
def kc(fake: FakeApi, tmp_path: Path) -> str:
    return write_kubeconfig(tmp_path / "kubeconfig", [fake.url])
