from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def seed_packet_path() -> Path:
    return EXAMPLES / "token-factory" / "packet.yaml"


@pytest.fixture
def seed_registry_path() -> Path:
    return EXAMPLES / "token-factory" / "registry.yaml"


@pytest.fixture
def complete_packet_path() -> Path:
    return EXAMPLES / "token-factory-complete" / "packet.yaml"


@pytest.fixture
def complete_registry_path() -> Path:
    return EXAMPLES / "token-factory-complete" / "registry.yaml"


@pytest.fixture
def complete_records_path() -> Path:
    return EXAMPLES / "token-factory-complete" / "records.yaml"
