"""``python -m fixline.db [--no-seed]``: apply migrations (and the seed) to DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import os

import asyncpg

from .migrate import migrate
from .seed import seed


async def _main(url: str, with_seed: bool) -> None:
    conn = await asyncpg.connect(url)
    try:
        applied = await migrate(conn)
        print(f"migrations applied: {applied or 'none (up to date)'}")
        if with_seed:
            await seed(conn)
            print("seed applied")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("DATABASE_URL is not set")
    asyncio.run(_main(args.database_url, not args.no_seed))


if __name__ == "__main__":
    main()
