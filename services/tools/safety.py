"""What a guest must be told first in an emergency, decided by the system (not the model):
``create_incident`` of an emergency returns these lines in its result, so an agent that forgot
them still gets the text to speak. Hazards come from the description (gas, fire, flooding,
cold, lock-out) and, failing that, from the category; the most dangerous first."""

from __future__ import annotations

import re

# hazard -> what to say, in order of danger
INSTRUCTIONS: dict[str, str] = {
    "gas": ("Gas: leave the property now with everyone in it. Do not switch lights or appliances on or off, "
            "do not light anything and do not use a phone inside. From outside, call the gas company's "
            "emergency line or 911."),
    "fire": "Fire or smoke: get everyone out now and call 911 from outside. Do not go back in.",
    "electrical": ("Electrical danger (sparks, burning smell, water near sockets): keep away from it and, "
                   "if it is safe to reach, switch off the main breaker. If there is smoke or fire, get out "
                   "and call 911."),
    "flood": ("Flooding: turn off the main water valve if you can reach it safely, and switch off the "
              "electricity at the breaker if water is near sockets or appliances. Keep away from standing "
              "water near electricity."),
    "cold": ("No heat in freezing weather: keep everyone in one room with the doors closed, wear warm layers "
             "and use blankets. Never heat the place with an oven, a grill or a generator indoors."),
    "lockout": ("Locked out: stay somewhere safe and lit, with your phone charged. Do not try to force a door "
                "or window. A locksmith is being called now."),
    "general": "If anyone is in danger, get to a safe place and call 911 first.",
}

_WORDS: dict[str, re.Pattern[str]] = {
    "gas": re.compile(r"\b(gas|propane|carbon monoxide|co alarm|rotten eggs?)\b", re.I),
    "fire": re.compile(r"\b(fire|smoke|smoking|flames?|burning)\b", re.I),
    "flood": re.compile(r"\b(flood\w*|burst|gushing|pouring|water everywhere)\b", re.I),
    "cold": re.compile(r"\b(no heat|freezing|heating (is )?(off|out|broken|not working)|furnace)\b", re.I),
    "lockout": re.compile(r"\b(locked out|lock-?out|can'?t get in|cannot get in)\b", re.I),
}

CATEGORY_HAZARD: dict[str, str] = {"plumbing": "flood", "electrical": "electrical", "hvac": "cold",
                                   "locks": "lockout"}


def hazards(category: str, description: str) -> list[str]:
    found = [h for h, words in _WORDS.items() if words.search(description)]
    if not found:
        found = [CATEGORY_HAZARD.get(category, "general")]
    return sorted(found, key=list(INSTRUCTIONS).index)


def instructions(category: str, description: str) -> str:
    """The safety lines for an emergency of this category and description, most urgent first."""
    return " ".join(INSTRUCTIONS[h] for h in hazards(category, description))
