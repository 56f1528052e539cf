"""Gemini (generativelanguage.googleapis.com) emulator: Live WebSocket + REST."""
from .scenario import Scenario, ScenarioError, Step, Timing
from .server import GeminiEmulator
from .session import LiveSession, SessionState

__all__ = ["GeminiEmulator", "LiveSession", "Scenario", "ScenarioError", "SessionState", "Step", "Timing"]
