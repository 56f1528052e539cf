"""Pure wire codecs (no I/O): bytes/str <-> typed messages."""
