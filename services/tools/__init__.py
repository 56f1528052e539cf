"""The agent's tools as a nats.micro request/reply service, plus the outbox relay."""
