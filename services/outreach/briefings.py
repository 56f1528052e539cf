"""What the agent is told before each outbound call (DialCall.briefing, spoken by the bridge's
persona): plain sentences, no secrets (never the access code)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .jobs import Booking, CallbackJob, IncidentJob, Vendor, VendorChoice, VendorQuote


def local_time(iso: str, timezone: str) -> str:
    """``2026-05-02T16:00:00+00:00`` -> ``Saturday 2 May 2026, 09:00 (America/Los_Angeles)``."""
    try:
        when = datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone))
    except (ValueError, ZoneInfoNotFoundError):
        return iso
    return f"{when:%A} {when.day} {when:%B %Y, %H:%M} ({timezone})"


URGENCY = {"emergency": "an emergency: someone is needed now", "today": "urgent: someone is needed today",
           "this_week": "needed in the next few days", "flexible": "not urgent"}


def vendor(job: IncidentJob, vendor: Vendor) -> str:
    urgency = URGENCY.get(job.urgency or "", f"severity {job.severity}")
    when = ("how soon they can be there (this is an emergency call-out: now, at any hour)"
            if job.emergency else
            "the earliest date and time they can come (a future time within their working hours)")
    return (f"You are calling {vendor.name} for a {job.category} repair quote ({urgency}) "
            f"at {job.property_name}, {job.address}. The property's time zone is {job.timezone}. "
            f"Problem: {job.description} "
            f"Ask for a total price and {when}, then record the quote with record_quote "
            f"(incident_id {job.incident_id}, vendor_id {vendor.id}).")


def _quote_line(q: VendorQuote) -> str:
    when = f", earliest start {q.earliest_start}" if q.earliest_start else ""
    return f"- {q.vendor_name} (vendor_id {q.vendor_id}): {q.price:.2f} {q.currency}{when}"


def landlord(job: IncidentJob, quotes: list[VendorQuote], recommendation: VendorChoice) -> str:
    chosen = next(q for q in quotes if q.vendor_id == recommendation.vendor_id)
    return "\n".join([
        f"You are calling {job.landlord_name or 'the landlord'} about {job.property_name}: "
        f"{job.description} ({job.category}, severity {job.severity}).",
        "Quotes:", *map(_quote_line, quotes),
        f"Recommendation: {chosen.vendor_name} (vendor_id {chosen.vendor_id}) - {recommendation.reason}",
        f"Ask whether to book it. Record the answer with record_decision (incident_id {job.incident_id}; "
        "approved true with the vendor_id they approve, or approved false).",
    ])


def landlord_emergency(job: IncidentJob, vendor: Vendor) -> str:
    return (f"EMERGENCY. You are calling {job.landlord_name or 'the landlord'}, the owner of "
            f"{job.property_name}: {job.description} ({job.category}). The guest has been given "
            f"the safety instructions and the property manager has been alerted. We are phoning "
            f"{vendor.name} (vendor_id {vendor.id}), an emergency call-out vendor, right now. "
            f"Ask the owner to approve sending them at once and record the answer with record_decision "
            f"(incident_id {job.incident_id}; approved true with vendor_id {vendor.id}, or approved false).")


def guest(job: IncidentJob, booking: Booking, vendor_name: str) -> str:
    return (f"You are calling the guest at {job.property_name} back about: {job.description} "
            f"The repair is booked: {vendor_name} will come on {local_time(booking.start, job.timezone)} "
            f"(until {local_time(booking.end, job.timezone)}, booking {booking.booking_id}). "
            "Tell them when to expect the visit, apologise for the trouble and ask if they need anything else.")


def guest_declined(job: IncidentJob) -> str:
    return (f"You are calling the guest at {job.property_name} back about: {job.description} "
            "The owner has decided not to book the repair for now. Tell them plainly and kindly, apologise, "
            "say the property manager has been told and will follow up with them, and give them the safety "
            "advice again if there is any. Ask if they need anything else.")


def callback(job: CallbackJob) -> str:
    """A call-back the system promised: why the last call was cut, and the incident so far."""
    cut = (f"You are calling the guest at {job.property_name} back, as we promised: their call at "
           f"{local_time(job.call_started, job.timezone)} ended before we could finish because {job.why}.")
    incident = job.incident
    if incident:
        known = (f" They had reported: {incident.description} ({incident.category}; incident "
                 f"{incident.id}, now {incident.status}). Apologise for the interruption, tell them where "
                 "it stands and ask whether anything has changed.")
    else:
        known = (" Nothing was recorded on that call yet. Apologise for the interruption, ask what they need "
                 "and help them as on any call to the maintenance line.")
    return cut + known
