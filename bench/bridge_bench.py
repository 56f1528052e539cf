"""How many concurrent calls one bridge process holds in real time.

Three processes, like production: the bridge (``python -m services.bridge``), the Gemini
emulator (real google-genai SDK on the bridge side, TLS), and this harness playing the
Twilio side of N media streams (signed upgrade, one-time token, a 20 ms μ-law frame per
call every 20 ms — speech bursts and silence — marks echoed after the audio would have
played). For each N, step up until a criterion fails:

* p99 frame-forwarding latency ≤ 5 ms, where forwarding latency = event-loop lag (how long
  a frame waits to be read) + the handler's time to forward it (Twilio frame -> Gemini send,
  and Gemini chunk -> Twilio frames); both from the bridge's own Prometheus histograms,
  p99 read conservatively at the upper edge of its bucket;
* zero dropped frames: every frame the harness sent was received by the bridge, and the
  bridge dropped none.

Reference measured in the same run: N=1 (the floor of the same path) and the harness's
own ticker lateness (to show the load generator kept real time).

    python -m bench.bridge_bench --counts 1,50,100,150,200,250 --seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AUTH_TOKEN, TOKEN_SECRET, API_KEY = "bench-auth-token", "bench-media-secret", "bench-key"

GEMINI_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from emulators.gemini import GeminiEmulator
    steps = [{"listen": {"transcript": "", "timeout_s": 5}},
             {"say": "Hello, this is Fixline maintenance. How can I help you today?"}]
    for i in range(200):
        steps += [{"listen": {"transcript": "caller turn", "timeout_s": 60}},
                  {"say": "I understand. Let me look into that for you right away."}]
    scenario = {"name": "bench", "steps": steps,
                "timing": {"response_delay_ms": 300, "chunk_ms": 40, "burst_ms": 300, "pace": 1.0}}
    async def main():
        emu = GeminiEmulator(scenario, api_key=sys.argv[2], port=int(sys.argv[1]), tls_dir=sys.argv[3])
        await emu.start()
        print("ready", emu.ca_file, flush=True)
        await asyncio.Event().wait()
    asyncio.run(main())
""")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- Prometheus

def scrape(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def delta(after: dict[str, float], before: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def _buckets(after: dict[str, float], before: dict[str, float], name: str, labels: str) -> list[tuple[float, float]]:
    pattern = re.compile(rf'^{name}_bucket\{{{labels}{"," if labels else ""}le="([^"]+)"\}}$')
    return sorted((float(m.group(1)), delta(after, before, k)) for k in after if (m := pattern.match(k)))


def p99_ms(after: dict[str, float], before: dict[str, float], name: str, labels: str = "", q: float = 0.99) -> float:
    """Upper bucket edge holding the q-quantile (conservative: the criterion), in ms."""
    buckets = _buckets(after, before, name, labels)
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return 0.0
    for edge, count in buckets:
        if count >= q * total:
            return edge * 1000
    return float("inf")


def quantile_ms(after: dict[str, float], before: dict[str, float], name: str, labels: str = "",
                q: float = 0.5) -> float:
    """The q-quantile interpolated linearly inside its bucket (the raw estimate), in ms."""
    buckets = _buckets(after, before, name, labels)
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return 0.0
    lo_edge, lo_count = 0.0, 0.0
    for edge, count in buckets:
        if count >= q * total:
            if edge == float("inf"):
                return lo_edge * 1000
            share = (q * total - lo_count) / max(count - lo_count, 1e-9)
            return round((lo_edge + share * (edge - lo_edge)) * 1000, 3)
        lo_edge, lo_count = edge, count
    return float("inf")


# ---------------------------------------------------------------------------- Twilio side

def frames() -> tuple[list[str], list[str]]:
    """Pre-encoded μ-law payloads: 1.2 s of speech-like audio then 1.8 s of silence."""
    sys.path.insert(0, str(ROOT))
    from emulators.audio import pcm16_to_ulaw, speech_like
    speech = pcm16_to_ulaw(np.resize(speech_like("bench caller talking about a leak", 8000), 9600))
    silence = b"\xff" * 160
    talk = [base64.b64encode(speech[i:i + 160]).decode() for i in range(0, len(speech), 160)]
    return talk, [base64.b64encode(silence).decode()] * 90


class Stream:
    def __init__(self, n: int, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.n, self.ws, self.sent, self.seq = n, ws, 0, 1
        self.received_bytes = 0
        self.play_end = 0.0
        self.marks = 0
        self.sid = f"MZbench{n}"

    async def reader(self) -> None:
        loop = asyncio.get_running_loop()
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            if data["event"] == "media":
                size = len(base64.b64decode(data["media"]["payload"]))
                self.received_bytes += size
                self.play_end = max(loop.time(), self.play_end) + size / 8000
            elif data["event"] == "mark":
                self.marks += 1
                loop.call_at(max(loop.time(), self.play_end), self._echo, data["mark"]["name"])
            elif data["event"] == "clear":
                self.play_end = loop.time()

    def _echo(self, name: str) -> None:
        if not self.ws.closed:
            self.seq += 1
            _quiet(self.ws.send_str(json.dumps(
                {"event": "mark", "sequenceNumber": str(self.seq), "streamSid": self.sid, "mark": {"name": name}})))


def _quiet(coro) -> None:
    """Fire and forget; a mark echo racing the stream's close is not an error."""
    asyncio.ensure_future(coro).add_done_callback(lambda f: f.cancelled() or f.exception())


async def open_stream(http: aiohttp.ClientSession, url: str, signature: str, n: int) -> Stream:
    sys.path.insert(0, str(ROOT))
    from services.common import media_token
    claims = media_token.MediaClaims(call_id=f"bench-{n}-{time.monotonic_ns()}", call_type="guest", property_id="p1")
    token = media_token.issue(TOKEN_SECRET, claims)
    ws = await http.ws_connect(url, headers={"X-Twilio-Signature": signature}, max_msg_size=1 << 20)
    s = Stream(n, ws)
    await ws.send_str(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
    await ws.send_str(json.dumps({"event": "start", "sequenceNumber": "1", "streamSid": s.sid, "start": {
        "accountSid": "ACbench", "streamSid": s.sid, "callSid": f"CAbench{n}", "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"token": token, "call_id": claims.call_id}}}))
    return s


SLOTS = 10  # independent calls are not phase-aligned: spread them over the 20 ms tick


async def ticker(streams: list[Stream], seconds: float, talk: list[str], silence: list[str]) -> list[float]:
    """One drift-corrected clock for all streams; stream n sends its 20 ms frame in slot
    n % SLOTS of each tick (2 ms apart). Returns the clock's lateness samples (s)."""
    loop = asyncio.get_running_loop()
    pattern = talk + silence
    lateness, start, step = [], loop.time(), 0
    slot_s = 0.02 / SLOTS
    by_slot = [[s for s in streams if s.n % SLOTS == k] for k in range(SLOTS)]
    while loop.time() - start < seconds:
        tick, slot = divmod(step, SLOTS)
        lateness.append(max(0.0, loop.time() - (start + step * slot_s)))
        for s in by_slot[slot]:
            s.seq += 1
            payload = pattern[(tick + s.n * 7) % len(pattern)]  # calls talk out of phase
            await s.ws.send_str('{"event":"media","sequenceNumber":"%d","streamSid":"%s","media":{"track":"inbound",'
                                '"chunk":"%d","timestamp":"%d","payload":"%s"}}' % (s.seq, s.sid, tick + 1, tick * 20,
                                                                                  payload))
            s.sent += 1
        step += 1
        await asyncio.sleep(max(0.0, start + step * slot_s - loop.time()))
    return lateness


# ---------------------------------------------------------------------------- processes

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(url) as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(url)


def cpu_plan(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(bridge cpus, load-generator cpus): with ``pin`` and ≥ 2 cpus, the bridge gets the last
    cpu to itself; the Gemini emulator, NATS and this harness share the others."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not pin or len(cpus) < 2:
        return None, None
    return {cpus[-1]}, set(cpus[:-1])


def _pinned(cpus: set[int] | None):
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


def start_processes(tmp: Path, inbound_rate: int, pin: bool = True) -> tuple[list[subprocess.Popen], str, int, object]:
    sys.path.insert(0, str(ROOT))
    from fixline.devstack import EmbeddedNats
    bridge_cpus, load_cpus = cpu_plan(pin)
    if load_cpus:
        os.sched_setaffinity(0, load_cpus)  # the harness (and what it spawns: NATS, emulator)
    nats = EmbeddedNats(tmp / "nats").start()
    gport, bport = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'proto'}"}
    gem = subprocess.Popen([sys.executable, "-c", GEMINI_SCRIPT, str(gport), API_KEY, str(tmp / "tls")],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    ready = gem.stdout.readline().split()
    if not ready or ready[0] != "ready":
        raise RuntimeError("Gemini emulator did not start")
    benv = {**env, "NATS_URL": nats.url, "NATS_CREDENTIALS_DIR": str(nats.credentials_dir),
            "BRIDGE_PORT": str(bport), "LOG_LEVEL": "WARNING",
            "GEMINI_API_KEY": API_KEY, "GEMINI_BASE_URL": f"https://127.0.0.1:{gport}", "GEMINI_CA_FILE": ready[1],
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "MEDIA_TOKEN_SECRET": TOKEN_SECRET, "MAX_CALLS": "5000",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{bport}", "BRIDGE_INBOUND_RATE": str(inbound_rate),
            "DRAIN_TIMEOUT_S": "5"}
    profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    bridge = subprocess.Popen([sys.executable, *profile, "-m", "services.bridge"], cwd=ROOT, env=benv,
                              stdout=subprocess.DEVNULL, stderr=open(tmp / "bridge.log", "w"),
                              preexec_fn=_pinned(bridge_cpus))
    return [gem, bridge], f"http://127.0.0.1:{bport}", bridge.pid, nats


async def run_step(base: str, pid: int, n: int, seconds: float, talk, silence) -> dict:
    sys.path.insert(0, str(ROOT))
    from twilio.request_validator import RequestValidator
    ws_url = base.replace("http", "ws") + "/twilio/media"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(ws_url, {})
    # no connection-pool limit: aiohttp's default (100) would hold the /metrics scrape behind
    # the 100 open media streams and time it out — a harness artefact, not the bridge
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                     connector=aiohttp.TCPConnector(limit=0)) as http:
        async with http.get(base + "/metrics") as r:
            before = scrape(await r.text())
        streams, readers = [], []
        ramp = max(1.0, n / 40)  # calls arrive over time (40/s), not all in the same instant
        for i in range(n):
            streams.append(await open_stream(http, ws_url, signature, i))
            readers.append(asyncio.create_task(streams[-1].reader()))
            await asyncio.sleep(ramp / n)
        await asyncio.sleep(2.0)  # the last sessions open and their greetings start
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        lateness = await ticker(streams, seconds, talk, silence)
        cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        await asyncio.sleep(0.5)
        async with http.get(base + "/metrics") as r:
            after = scrape(await r.text())
        for s in streams:
            await s.ws.send_str(json.dumps({"event": "stop", "sequenceNumber": str(s.seq + 1), "streamSid": s.sid,
                                            "stop": {"accountSid": "ACbench", "callSid": f"CAbench{s.n}"}}))
            await s.ws.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    sent = sum(s.sent for s in streams)
    marks = sum(s.marks for s in streams)
    frames_in = delta(after, before, "bridge_frames_in_total")
    dropped = sum(v - before.get(k, 0) for k, v in after.items() if k.startswith("bridge_frames_dropped_total{"))
    lag = p99_ms(after, before, "bridge_event_loop_lag_seconds")
    fin = p99_ms(after, before, "bridge_frame_forward_seconds", 'direction="in"')
    fout = p99_ms(after, before, "bridge_frame_forward_seconds", 'direction="out"')
    raw = {f"{q_name}_{key}_ms": quantile_ms(after, before, metric, labels, q)
           for q_name, q in (("p50", 0.5), ("p99", 0.99))
           for key, metric, labels in (("loop_lag", "bridge_event_loop_lag_seconds", ""),
                                       ("in", "bridge_frame_forward_seconds", 'direction="in"'),
                                       ("out", "bridge_frame_forward_seconds", 'direction="out"'))}
    return {"calls": n, "frames_sent": sent, "frames_received_by_bridge": int(frames_in),
            "frames_lost": int(max(0, sent - frames_in)), "frames_dropped": int(dropped),
            "frames_out": int(delta(after, before, "bridge_frames_out_total")),
            "p99_loop_lag_ms": lag, "p99_forward_in_ms": fin, "p99_forward_out_ms": fout,
            "p99_forward_ms": lag + max(fin, fout), "bridge_cpu": round(cpu, 3),
            "harness_p99_tick_late_ms": round(float(np.percentile(lateness, 99)) * 1000, 2),
            "agent_audio_s": round(sum(s.received_bytes for s in streams) / 8000, 1),
            "marks_sent": int(marks), "raw_interpolated": raw}


def cpu_reference() -> float:
    """Seconds for a fixed pure-Python workload: compare machines."""
    t = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i * i % 7
    return round(time.process_time() - t, 3)


async def _run(args: argparse.Namespace) -> dict:
    talk, silence = frames()
    tmp = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    own_cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        procs, base, pid, nats = start_processes(tmp, args.inbound_rate, pin=not args.no_pin)
    finally:
        if own_cpus:
            os.sched_setaffinity(0, own_cpus)  # only the children stay pinned
    _, load_cpus = cpu_plan(not args.no_pin)
    if load_cpus:
        os.sched_setaffinity(0, load_cpus)  # the harness shares the load generators' cpu
    results: list[dict] = []
    try:
        await wait_ready(base + "/readyz")
        for n in args.counts:
            step = await run_step(base, pid, n, args.seconds, talk, silence)
            step["ok"] = step["p99_forward_ms"] <= args.p99_ms and step["frames_lost"] == 0 \
                and step["frames_dropped"] == 0
            results.append(step)
            print(json.dumps(step), flush=True)
            await asyncio.sleep(2.0)  # calls wind down
            if not step["ok"] and n > 1 and not args.keep_going:
                break
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(10)
        nats.stop()
        if own_cpus:
            os.sched_setaffinity(0, own_cpus)
    passing = [r["calls"] for r in results if r["ok"]]
    bridge_cpus, load_cpus = cpu_plan(not args.no_pin)
    return {"max_calls": max(passing, default=0), "criteria": {"p99_forward_ms": args.p99_ms, "dropped": 0},
            "inbound_rate": args.inbound_rate, "seconds_per_step": args.seconds, "steps": results,
            "reference": {"single_call": results[0] if results else None, "cpu_reference_s": cpu_reference(),
                          "cpus": os.cpu_count(),
                          "bridge": f"one process on cpu {sorted(bridge_cpus)} alone" if bridge_cpus
                          else "one process, unpinned",
                          "load_generators_cpus": sorted(load_cpus) if load_cpus else None,
                          "inbound_batch_ms": int(os.environ.get("BRIDGE_INBOUND_BATCH_MS", "40"))}}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", default="1,50,100,150,200,250,300",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--p99-ms", type=float, default=5.0)
    parser.add_argument("--inbound-rate", type=int, default=16000, choices=(8000, 16000))
    parser.add_argument("--keep-going", action="store_true", help="measure every count, even after a failure")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin the bridge to its own cpu (default: bridge alone on one cpu)")
    args = parser.parse_args(argv)
    result = asyncio.run(_run(args))
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=2))
    return result


if __name__ == "__main__":
    main()
