"""The emergency safety table: hazards from the description first, the category otherwise,
the most dangerous first."""

import pytest

from services.tools import safety


@pytest.mark.parametrize(("category", "description", "hazards"), [
    ("hvac", "I smell gas near the stove", ["gas"]),
    ("appliance", "Smell of rotten eggs and the CO alarm is beeping", ["gas"]),
    ("electrical", "Smoke from the outlet, it smells like burning", ["fire"]),
    ("plumbing", "A pipe burst and water is pouring through the ceiling", ["flood"]),
    ("hvac", "The furnace died and it is freezing", ["cold"]),
    ("locks", "Locked out at midnight with a child", ["lockout"]),
    ("plumbing", "Big leak under the sink", ["flood"]),            # the category's hazard
    ("electrical", "Sparks from the panel", ["electrical"]),
    ("pest", "Rats in the kitchen", ["general"]),
    ("other", "Fire in the kitchen and I smell gas", ["gas", "fire"]),  # gas before fire
])
def test_hazards(category, description, hazards):
    assert safety.hazards(category, description) == hazards


def test_instructions_put_the_most_urgent_first():
    text = safety.instructions("other", "smoke and a gas smell")
    assert text.index("Gas:") < text.index("Fire or smoke:")
    assert "Do not switch lights" in text and "call 911" in text
