"""Fan-out latency of the notifier: publish -> SSE delivery at every connected client.

    python -m bench.sse_bench [--clients 1000] [--events 200] [--rate 20] [--workers 1]

The notifier runs as its own process (``python -m services.notifier``, as deployed) on
the embedded NATS + PostgreSQL. Clients are aiohttp SSE readers in ``--workers`` other
processes. Each event carries its publish time (wall clock, same host); a client stamps
a chunk when it arrives, before parsing. Two phases in one run: a single client (the
reference), then ``--clients`` concurrent clients; same event rate and payload.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import msgspec
import nats
from nats.js.api import StorageType, StreamConfig

from fixline.db.provision import provision_database
from fixline.devstack import DevStack, free_port, harness
from fixline.nats_auth import credentials_acting_as
from fixline_proto import encode
from fixline_proto.events import IncidentUpdated
from services.notifier import sse

TOKEN = "bench-token-" + uuid.uuid4().hex
PROPERTY = "p1"


class _Note(msgspec.Struct):
    note: str = ""


_NOTE = msgspec.json.Decoder(_Note)


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---------- client processes -------------------------------------------------------

class _SseClient(asyncio.Protocol):
    """A lean SSE reader (HTTP/1.0, so no chunked framing): the arrival time is taken first
    thing in ``data_received``, before any parsing, so the harness adds as little as it can."""

    def __init__(self, request: bytes, expected: int) -> None:
        self.request, self.expected = request, expected
        self.parser = sse.Parser()
        self.head = b""
        self.in_body = False
        self.latencies: list[float] = []
        self.ready = asyncio.get_running_loop().create_future()
        self.finished = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        arrived = time.time()
        if not self.in_body:
            self.head += data
            if b"\r\n\r\n" not in self.head:
                return
            head, _, data = self.head.partition(b"\r\n\r\n")
            if not head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200")):
                self._fail(RuntimeError(head.split(b"\r\n", 1)[0].decode()))
                return
            self.in_body = True
        for message in self.parser.feed(data):
            if message.event == "snapshot" and not self.ready.done():
                self.ready.set_result(None)
            elif message.event == "incident.updated":
                self.latencies.append(arrived - float(_NOTE.decode(message.data).note))
        if len(self.latencies) >= self.expected and not self.finished.done():
            self.finished.set_result(None)
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or EOFError("the server closed the stream"))

    def _fail(self, exc: BaseException) -> None:
        for future in (self.ready, self.finished):
            if not future.done():
                future.set_exception(exc)


async def _worker_main(url: str, token: str, clients: int, expected: int, conn) -> None:
    loop = asyncio.get_running_loop()
    host, port = url.removeprefix("http://").split(":")
    request = (f"GET /events HTTP/1.0\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
               "Accept: text/event-stream\r\n\r\n").encode()
    started = time.monotonic()
    protocols = []
    for _ in range(clients):
        _, protocol = await loop.create_connection(lambda: _SseClient(request, expected), host, int(port))
        protocols.append(protocol)
    await asyncio.wait_for(asyncio.gather(*(p.ready for p in protocols)), 120)
    conn.send(("ready", time.monotonic() - started))
    await asyncio.wait([p.finished for p in protocols], timeout=expected * 2 + 60)
    failures = sum(1 for p in protocols if not p.finished.done() or p.finished.exception())
    conn.send(("done", [x for p in protocols for x in p.latencies], failures))


def _worker(url: str, token: str, clients: int, expected: int, conn) -> None:
    _raise_fd_limit()
    try:
        asyncio.run(_worker_main(url, token, clients, expected, conn))
    except Exception as exc:  # noqa: BLE001 - any worker failure is sent back to the parent
        conn.send(("error", repr(exc)))


# ---------- the run ---------------------------------------------------------------------

async def _publish(nc, stream: str, prefix: str, events: int, rate: float) -> None:
    js = nc.jetstream()
    for _ in range(events):
        event = IncidentUpdated(property_id=PROPERTY, incident_id="bench", status="troubleshooting",
                                previous_status="open", note=repr(time.time()))
        await js.publish(f"{prefix}.{PROPERTY}.incident.updated", encode(event), stream=stream)
        await asyncio.sleep(1 / rate)


async def _phase(url: str, nc, stream: str, prefix: str, clients: int, workers: int, events: int,
                 rate: float) -> dict:
    ctx = mp.get_context("spawn")
    workers = max(1, min(workers, clients))
    shares = [clients // workers + (1 if i < clients % workers else 0) for i in range(workers)]
    pipes, procs = [], []
    for share in shares:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(url, TOKEN, share, events, child), daemon=True)
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    readies = [await asyncio.to_thread(p.recv) for p in pipes]
    if errors := [m[1] for m in readies if m[0] == "error"]:
        raise RuntimeError(f"benchmark clients failed: {errors}")
    connect_s = max(m[1] for m in readies)
    await asyncio.sleep(0.5)
    await _publish(nc, stream, prefix, events, rate)
    results = [await asyncio.to_thread(p.recv) for p in pipes]
    for proc in procs:
        proc.join(10)
    latencies = sorted(x for _, values, _ in results for x in values)
    return _summary(latencies, clients, events, sum(r[2] for r in results), connect_s)


def _summary(latencies: list[float], clients: int, events: int, failures: int, connect_s: float) -> dict:
    def pct(q: float) -> float:
        if not latencies:
            return float("nan")
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)
    return {"clients": clients, "events": events, "deliveries": len(latencies), "expected": clients * events,
            "failed_clients": failures, "connect_all_s": round(connect_s, 2),
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "max_ms": round(max(latencies) * 1000, 2) if latencies else None,
            "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else None}


async def _database(stack: DevStack) -> str:
    return await provision_database(stack.database_url, f"fixline_ssebench_{uuid.uuid4().hex[:8]}")


def _start_notifier(stack: DevStack, database_url: str, stream: str, prefix: str, clients: int) -> tuple:
    port = free_port()
    credentials = credentials_acting_as(Path(stack.nats_credentials_dir), "notifier", "harness")
    env = {**os.environ, "NATS_URL": stack.nats_url, "NATS_CREDENTIALS_DIR": str(credentials),
           "DATABASE_URL": database_url, "NOTIFIER_PORT": str(port),
           "DASHBOARD_TOKEN": TOKEN, "NOTIFIER_STREAM": stream, "NOTIFIER_SUBJECT_PREFIX": prefix,
           "SSE_MAX_CLIENTS": str(clients + 100), "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "services.notifier"], env=env, preexec_fn=_raise_fd_limit)
    return proc, f"http://127.0.0.1:{port}"


async def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("the notifier did not become ready")


async def _run(args: argparse.Namespace) -> dict:
    stack = DevStack.temporary().start(fsync=False, with_harness=True)
    proc = None
    try:
        database_url = await _database(stack)
        suffix = uuid.uuid4().hex[:8]
        stream, prefix = f"SSEBENCH_{suffix}", f"ssebench{suffix}"
        async with await nats.connect(stack.nats_url, **harness(stack).options()) as nc:
            await nc.jetstream().add_stream(StreamConfig(name=stream, subjects=[f"{prefix}.>"],
                                                         storage=StorageType.MEMORY))
            proc, url = _start_notifier(stack, database_url, stream, prefix, args.clients)
            await _wait_ready(url)
            single = await _phase(url, nc, stream, prefix, 1, 1, args.events, args.rate)
            many = await _phase(url, nc, stream, prefix, args.clients, args.workers, args.events, args.rate)
        return {"single_client": single, "many_clients": many, "rate_per_s": args.rate, "goal_p99_ms": 100}
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        stack.stop()


def _print_table(result: dict) -> None:
    print(f"SSE fan-out: publish -> delivery at every client ({result['rate_per_s']:g} events/s)")
    print(f"{'':<16}{'clients':>8}{'delivered':>12}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'connect s':>11}")
    for name in ("single_client", "many_clients"):
        r = result[name]
        print(f"{name:<16}{r['clients']:>8}{r['deliveries']:>7}/{r['expected']:<6}{r['p50_ms']:>7.1f}"
              f"{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}{r['connect_all_s']:>11.2f}")
    print(f"goal: p99 <= {result['goal_p99_ms']} ms with {result['many_clients']['clients']} clients")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.sse_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events published per second")
    parser.add_argument("--workers", type=int, default=1, help="client processes")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    _raise_fd_limit()
    result = asyncio.run(_run(args))
    _print_table(result)
    return result


if __name__ == "__main__":
    main()
