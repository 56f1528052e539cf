"""Twilio webhooks: voice, call status, stream status; TwiML; admission control."""
