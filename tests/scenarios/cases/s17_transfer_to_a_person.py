"""The guest asks for a person: the agent says so, transfer_to_human, and the call is
redirected to the person on duty after the message has played."""
from ..parts import caller
from ..story import GuestCall, Scenario
from ..world import PERSON_ON_DUTY, agent

SCENARIO = Scenario(
    name="transfer to a person",
    story="'Can I talk to a human?' -> transfer to the person on duty.",
    calls=[GuestCall(caller("Can I talk to a human please?"))],
    agents={"guest": [agent(
        {"say": "Hi, Fixline maintenance. How can I help?"}, {"listen": "Can I talk to a human please?"},
        {"say": "Of course, I am transferring you now."},
        {"tool_call": {"name": "transfer_to_human", "args": {"reason": "caller asked"}}, "wait": True})]},
    callees={PERSON_ON_DUTY: caller("Hello, this is Sam from the team.")},
    expect={"outcomes": ["transferred"], "calls_open": 0, "incidents": 0, "reports": ["guest/inbound:escalated"]},
)
