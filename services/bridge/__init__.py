"""Twilio media WebSocket <-> Gemini Live session, one state object per call."""
