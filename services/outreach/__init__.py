"""Durable workflows (DBOS): vendor quotes, landlord approval, booking, guest update."""
