import pytest


@pytest.fixture(autouse=True)
def _infrastructure(database_url: str, nats_url: str) -> None:
    """Every notifier test runs against the real NATS and PostgreSQL of the session."""
