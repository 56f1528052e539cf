"""Helpers shared by the test suite (real servers only: no mocks of NATS or PostgreSQL)."""
