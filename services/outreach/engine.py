"""DBOS lifecycle inside the service: one DBOS per process (it is a global singleton).

- The system database is ``<DATABASE_URL's database>_dbos`` on the same server (DBOS creates
  and migrates it), unless OUTREACH_DBOS_DATABASE_URL names one.
- ``application_version`` is pinned (OUTREACH_APP_VERSION): DBOS's default is a hash of the
  workflow source, and PENDING workflows of another version are not recovered.
- ``executor_id`` (OUTREACH_EXECUTOR_ID) must be stable per replica: at launch DBOS recovers
  the PENDING workflows of this executor id.
- ``launch`` runs on the service's event loop, so workflows (new and recovered) run there
  too, next to the asyncpg pool and the NATS connection their steps use.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

from dbos import DBOS, DBOSConfig
from dbos import _dbos as dbos_internals

from services.common.settings import Settings

log = logging.getLogger(__name__)
SYSTEM_DB_SUFFIX = "_dbos"
SYS_DB_POOL_SIZE = 10


def system_database_url(settings: Settings) -> str:
    if settings.outreach_dbos_database_url:
        return settings.outreach_dbos_database_url
    parts = urlsplit(settings.database_url)
    name = parts.path.lstrip("/") or "postgres"
    return urlunsplit(parts._replace(path=f"/{name}{SYSTEM_DB_SUFFIX}"))


def config(settings: Settings) -> DBOSConfig:
    return DBOSConfig(name="fixline-outreach", system_database_url=system_database_url(settings),
                      application_version=settings.outreach_app_version, executor_id=settings.outreach_executor_id,
                      sys_db_pool_size=SYS_DB_POOL_SIZE, log_level=settings.log_level)


def launch(settings: Settings) -> None:
    """Create and launch DBOS on the running loop; refuses a second live instance."""
    if dbos_internals._dbos_global_instance is not None:
        raise RuntimeError("DBOS is already running in this process (one outreach service per process)")
    from . import callbacks, workflows  # noqa: F401 - registers the workflows before launch

    DBOS(config=config(settings))
    try:
        DBOS.launch()
    except BaseException:
        DBOS.destroy()
        raise
    log.info("DBOS launched", extra={"executor_id": settings.outreach_executor_id,
                                     "application_version": settings.outreach_app_version})


async def shutdown() -> int:
    """Stop this process's workflows where they are (they stay PENDING and resume at the next
    launch with this executor id), then destroy DBOS so a new instance can launch."""
    instance = dbos_internals._dbos_global_instance
    if instance is None:
        return 0
    # DBOS.destroy does not cancel async workflows running on our loop; waiting for them
    # would mean waiting for phone calls. They are durable: cancel and recover later.
    tasks = [t for t in list(instance._workflow_tasks) if not t.done()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    # DBOS made its own thread pool the loop's default executor (asyncio.to_thread) and shuts
    # that pool down in destroy: give the loop a pool of its own again first.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(thread_name_prefix="asyncio"))
    await asyncio.to_thread(DBOS.destroy)
    log.info("DBOS stopped", extra={"workflows_suspended": len(tasks)})
    return len(tasks)
