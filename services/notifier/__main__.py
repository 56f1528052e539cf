"""``python -m services.notifier``"""

from services.common.runtime import main

from .app import NotifierService

if __name__ == "__main__":
    main(NotifierService())
