"""``python -m services.bridge``"""

from services.common.runtime import main

from .app import BridgeService

if __name__ == "__main__":
    main(BridgeService())
