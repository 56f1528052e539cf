"""Google Calendar v3 emulator (+ OAuth2 service-account token endpoint)."""
from .server import CalendarEmulator
from .service_account import make_service_account, verify_assertion, write_service_account
from .store import CalendarError, CalendarStore

__all__ = ["CalendarEmulator", "CalendarError", "CalendarStore", "make_service_account",
           "verify_assertion", "write_service_account"]
