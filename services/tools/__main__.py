"""``python -m services.tools``"""

from services.common.runtime import main

from .app import ToolsService

if __name__ == "__main__":
    main(ToolsService())
