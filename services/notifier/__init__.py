"""SSE gateway with replay from JetStream, and the dashboard page."""
