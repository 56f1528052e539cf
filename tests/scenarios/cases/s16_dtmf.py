"""The caller answers with the keypad: the model hears the keys as a system message."""
from ..parts import END
from ..story import GuestCall, Scenario
from ..world import agent


async def heard(world, run) -> dict:
    texts = [h.get("text", "") for s in world.gemini.sessions[-3:] for h in s.state.history]
    return {"model_heard_keys": any("pressed keys" in t and "1" in t for t in texts)}


SCENARIO = Scenario(
    name="DTMF",
    story="The agent asks to press 1 if water is near electricity; the caller presses 1.",
    calls=[GuestCall({"steps": [{"dtmf": "1"}], "agent_silence_s": 0.5, "max_duration_s": 20})],
    agents={"guest": [agent(
        {"say": "Hi, Fixline. If water is near any electrics, press 1."},
        {"listen": {"transcript": "", "timeout_s": 8}},
        {"say": "Thank you. Please stay away from the sockets. Goodbye."}, END)]},
    extra=heard,
    expect={"model_heard_keys": True, "calls_open": 0, "outcomes": ["agent_hangup"]},
)
