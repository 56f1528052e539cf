"""``python -m services.outreach``"""

from services.common.runtime import main

from .app import OutreachService

if __name__ == "__main__":
    main(OutreachService())
