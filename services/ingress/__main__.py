"""``python -m services.ingress``"""

from services.common.runtime import main

from .app import IngressService

if __name__ == "__main__":
    main(IngressService())
