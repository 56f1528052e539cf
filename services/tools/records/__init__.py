"""Call records: what every call leaves behind. A durable consumer of the call events stores
the transcript and the two ends of each call (``facts``), then builds one end-of-call report
per call (``gather`` -> ``classify``/``summary`` -> ``cost`` -> ``report``), published as
``call.report`` through the outbox and, optionally, POSTed to a webhook (``webhook``)."""
