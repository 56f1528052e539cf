"""How many concurrent calls one bridge process holds in real time, and at what CPU.

Four processes, like production: the bridge (``python -m services.bridge``, pinned alone
on the last cpu), a Gemini Live stand-in (bench/gemini_load.py: TLS, the real google-genai
SDK on the bridge side, one agent turn per call every 3 s on a schedule), NATS, and this
harness playing the Twilio side of N media streams (bench/twilio_load.py: signed upgrade,
one-time token, a pre-encoded 20 ms μ-law frame per call every 20 ms, marks echoed when
their audio would have played). The Pipecat-style reference (bench/reference_bridge.py)
takes the same load at every count, right after ours, on the same cpu.

Per step and bridge: CPU per call-second; p99 forwarding = p99 event-loop lag + p99
handler time (the bridge's own histograms, read at the upper bucket edge); frames lost
(sent by the harness, not received) and dropped (by the bridge); playback underruns;
the generator's CPU (harness + stand-in) and whether it, not the bridge, was the limit.
The verdict line: the largest count meeting p99 ≤ 5 ms with zero frames lost or dropped.

    python -m bench.bridge_bench --counts 1,50,100,150,200,250,300 --seconds 8
    python -m bench.bridge_bench --bridge-root /tmp/old-tree   # another tree's bridge, same load
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np

from . import twilio_load
from .turn_timing import TimingLog
from .turn_timing import summary as turn_timing
from .prom_text import delta, p99_ms, quantile_ms, scrape

ROOT = Path(__file__).resolve().parent.parent
AUTH_TOKEN, TOKEN_SECRET, API_KEY = "bench-auth-token", "bench-media-secret", "bench-key"
GENERATOR_BUSY = 0.85  # generator cores used / cores it has: at or above this, it may be the limit
TICK_LATE_MS = 5.0     # harness ticker p99 lateness above this: the load itself was late
BUSY_CPU_WAIT_MS = 10.0  # the bridge waited this long per second for its cpu: not alone on it
# BENCH_PROFILE=FILE: cProfile on the bridge's own CPU time (time spent waiting for the cpu,
# which other tenants of a shared VM cause, is not charged to whatever function was running)
PROFILED = ("import atexit, cProfile, runpy, time; p = cProfile.Profile(time.thread_time); "
            "atexit.register(lambda: p.dump_stats(%r)); p.enable(); "
            "runpy.run_module('services.bridge', run_name='__main__')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- processes

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_wait_s(pid: int) -> float:
    """Seconds the process's main thread (the event loop) spent runnable but not running:
    other work on its cpu. 0 where the kernel has no schedstat."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


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
    cpu to itself; the Gemini stand-in, NATS and this harness share the others."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not pin or len(cpus) < 2:
        return None, None
    return {cpus[-1]}, set(cpus[:-1])


def _pinned(cpus: set[int] | None):
    return (lambda: os.sched_setaffinity(0, cpus)) if cpus else None


class Stack:
    """The stand-in, NATS, our bridge and the reference, started once for all steps."""

    def __init__(self, tmp: Path, args: argparse.Namespace) -> None:
        self.tmp, self.args = tmp, args
        self.procs: list[subprocess.Popen] = []
        self.bridges: dict[str, tuple[str, int]] = {}  # name -> (base url, pid)

    def start(self) -> None:
        from fixline.devstack import EmbeddedNats
        bridge_cpus, load_cpus = cpu_plan(not self.args.no_pin)
        if load_cpus:
            os.sched_setaffinity(0, load_cpus)  # the harness (and what it spawns: NATS, stand-in)
        self.nats = EmbeddedNats(self.tmp / "nats", with_harness=True).start()
        gport = free_port()
        env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'proto'}"}
        self.timing = TimingLog(self.tmp / "gemini-timing.log")
        gem = subprocess.Popen([sys.executable, "-m", "bench.gemini_load", str(gport), API_KEY,
                                str(self.tmp / "tls"), "--pace", str(self.args.gemini_pace),
                                "--timing-log", str(self.timing.path)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        self.procs.append(gem)
        self.gemini_pid = gem.pid
        ready = gem.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError("Gemini stand-in did not start")
        root = Path(self.args.bridge_root).resolve() if self.args.bridge_root else ROOT
        base_env = {"NATS_URL": self.nats.url, "NATS_CREDENTIALS_DIR": str(self.nats.credentials_dir),
                    "LOG_LEVEL": "WARNING", "GEMINI_API_KEY": API_KEY,
                    "GEMINI_BASE_URL": f"https://127.0.0.1:{gport}", "GEMINI_CA_FILE": ready[1],
                    "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "MEDIA_TOKEN_SECRET": TOKEN_SECRET, "MAX_CALLS": "5000",
                    "BRIDGE_INBOUND_RATE": str(self.args.inbound_rate), "DRAIN_TIMEOUT_S": "5"}
        extra = dict(kv.split("=", 1) for kv in self.args.bridge_env)
        launch = ["-c", "import asyncio, runpy, uvloop; asyncio.set_event_loop_policy(uvloop.EventLoopPolicy()); "
                        "runpy.run_module('services.bridge', run_name='__main__')"] if self.args.uvloop \
            else ["-c", PROFILED % os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") \
            else ["-m", "services.bridge"]
        self._bridge("ours", launch, root, {**base_env, **extra}, bridge_cpus)
        if not self.args.no_reference:
            self._bridge("reference", ["-m", "bench.reference_bridge"], ROOT, base_env, bridge_cpus)

    def _bridge(self, name: str, argv: list[str], root: Path, env: dict, cpus: set[int] | None) -> None:
        port = free_port()
        full = {**os.environ, **env, "PYTHONPATH": f"{root}:{root / 'proto'}", "BRIDGE_PORT": str(port),
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
        proc = subprocess.Popen([sys.executable, *argv], cwd=root, env=full, stdout=subprocess.DEVNULL,
                                stderr=open(self.tmp / f"{name}.log", "w"), preexec_fn=_pinned(cpus))
        self.procs.append(proc)
        self.bridges[name] = (f"http://127.0.0.1:{port}", proc.pid)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        self.nats.stop()


async def _provision_streams(server) -> None:
    import nats

    from services.common import bus
    nc = await nats.connect(server.url, **bus.BusIdentity("harness", str(server.credentials_dir)).options())
    await bus.ensure_streams(nc, 1)
    await nc.close()


# ---------------------------------------------------------------------------- one step

async def open_calls(base: str, n: int) -> list[twilio_load.TwilioCall]:
    from services.common import media_token
    from twilio.request_validator import RequestValidator
    port = int(base.rsplit(":", 1)[1])
    ws_url = base.replace("http", "ws") + "/twilio/media"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(ws_url, {})
    request = twilio_load.upgrade_request("127.0.0.1", port, "/twilio/media", signature)
    cycle = twilio_load.caller_audio()
    loop = asyncio.get_running_loop()
    calls, ramp = [], max(1.0, n / 40)  # calls arrive over time (40/s), not all in the same instant
    for i in range(n):
        claims = media_token.MediaClaims(call_id=f"bench-{i}-{time.monotonic_ns()}", call_sid=f"CAbench{i}",
                                         call_type="guest", property_id=f"p1-bench{i}")  # the stand-in reads it
        start = twilio_load.start_messages(i, f"MZbench{i}", media_token.issue(TOKEN_SECRET, claims), claims.call_id)
        _, call = await loop.create_connection(lambda i=i, start=start: twilio_load.TwilioCall(i, request, start),
                                               "127.0.0.1", port)
        call.encode_frames(cycle)
        await call.ready
        calls.append(call)
        await asyncio.sleep(ramp / n)
    return calls


async def scrape_metrics(http: aiohttp.ClientSession, base: str) -> dict[str, float]:
    async with http.get(base + "/metrics") as r:
        return scrape(await r.text())


async def run_step(stack: Stack, name: str, n: int, seconds: float) -> dict:
    base, pid = stack.bridges[name]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        before = await scrape_metrics(http, base)
        stack.timing.skip_to_end()
        calls = await open_calls(base, n)
        await asyncio.sleep(2.0)  # the last sessions open and their greetings start
        cpu0, gen0, own0, t0 = cpu_seconds(pid), cpu_seconds(stack.gemini_pid), time.process_time(), time.monotonic()
        waited0 = runqueue_wait_s(pid)
        lateness = await twilio_load.ticker(calls, seconds)
        wall = time.monotonic() - t0
        cpu = (cpu_seconds(pid) - cpu0) / wall
        waited = (runqueue_wait_s(pid) - waited0) / wall
        harness_cpu, gemini_cpu = (time.process_time() - own0) / wall, (cpu_seconds(stack.gemini_pid) - gen0) / wall
        await asyncio.sleep(0.5)
        after = await scrape_metrics(http, base)
        timing = turn_timing(stack.timing.read(), {c.n: c.clears for c in calls}, {c.n: c.turn_starts for c in calls})
        for call in calls:
            call.hang_up()
        await asyncio.sleep(0.5)
        for call in calls:
            call.transport.close()
    step = summarize(name, n, calls, before, after, cpu, harness_cpu, gemini_cpu, lateness)
    step["bridge_runqueue_wait_ms_per_s"] = round(waited * 1000, 1)
    step.update(timing)
    return step


def generator_limit(cores_used: float, cores: int, tick_late_ms: float) -> str | None:
    """Why the load itself may not have been real time: the generator's own cpus were busy,
    or its clock ran late (other work on the machine), else None."""
    if cores_used >= GENERATOR_BUSY * cores:
        return f"generator cpu {cores_used:.2f} of {cores}"
    if tick_late_ms > TICK_LATE_MS:
        return f"load clock p99 {tick_late_ms:g} ms late"
    return None


def summarize(name: str, n: int, calls, before: dict, after: dict, cpu: float, harness_cpu: float,
              gemini_cpu: float, lateness: list[float]) -> dict:
    sent = sum(c.sent for c in calls)
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
    _, load_cpus = cpu_plan(True)
    generator = round(harness_cpu + gemini_cpu, 3)
    tick_late = round(float(np.percentile(lateness, 99)) * 1000, 2)
    return {"bridge": name, "calls": n, "frames_sent": sent, "frames_received_by_bridge": int(frames_in),
            "frames_lost": int(max(0, sent - frames_in)), "frames_dropped": int(dropped),
            "frames_out": int(delta(after, before, "bridge_frames_out_total")),
            "p99_loop_lag_ms": lag, "p99_forward_in_ms": fin, "p99_forward_out_ms": fout,
            "p99_forward_ms": lag + max(fin, fout), "bridge_cpu": round(cpu, 3),
            "cpu_ms_per_call_s": round(cpu * 1000 / n, 2),
            "underruns": int(delta(after, before, "bridge_playback_underruns_total")),
            "p99_turn_first_audio_ms": p99_ms(after, before, "bridge_turn_first_audio_seconds"),
            "p99_barge_in_ms": p99_ms(after, before, "bridge_barge_in_seconds"),
            "generator_cpu": generator, "harness_cpu": round(harness_cpu, 3), "gemini_cpu": round(gemini_cpu, 3),
            "harness_p99_tick_late_ms": tick_late,
            "generator_limited": generator_limit(generator, len(load_cpus or [0]), tick_late),
            "agent_audio_s": round(sum(c.received_bytes for c in calls) / 8000, 1),
            "twilio_media_messages": sum(c.media_messages for c in calls),
            "marks_echoed": sum(c.marks for c in calls), "raw_interpolated": raw}


def cpu_reference() -> float:
    """Seconds for a fixed pure-Python workload: compare machines."""
    t = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i * i % 7
    return round(time.process_time() - t, 3)


def line(step: dict) -> str:
    mark = "ok " if step["ok"] else "FAIL"
    gen = f" GENERATOR-LIMITED ({step['generator_limited']})" if step["generator_limited"] else ""
    return (f"{step['bridge']:>9} {step['calls']:>4} calls {mark} | CPU {step['bridge_cpu']:.3f} cores = "
            f"{step['cpu_ms_per_call_s']:.2f} ms/call-s | p99 fwd {step['p99_forward_ms']:.2f} ms (lag "
            f"{step['p99_loop_lag_ms']:g} + max(in {step['p99_forward_in_ms']:g}, out {step['p99_forward_out_ms']:g}))"
            f" | lost {step['frames_lost']} dropped {step['frames_dropped']} | underruns {step['underruns']}"
            f" | agent {step['agent_audio_s']} s in {step['twilio_media_messages']} msgs"
            f" | turn start p99 {step['p99_turn_first_audio_ms']:g} ms"
            f" | e2e p50/p99: interrupted->clear {step['p50_barge_in_e2e_ms']}/{step['p99_barge_in_e2e_ms']} ms"
            f" (n {step['barge_in_count']}, unanswered {step['barge_in_unanswered']}), first chunk->Twilio "
            f"{step['p50_first_audio_e2e_ms']}/{step['p99_first_audio_e2e_ms']} ms (n {step['first_audio_count']})"
            f" | waited for its cpu {step['bridge_runqueue_wait_ms_per_s']:g} ms/s"
            f" | generator {step['generator_cpu']:.3f} cores (harness {step['harness_cpu']:.3f}, gemini "
            f"{step['gemini_cpu']:.3f}), tick p99 late {step['harness_p99_tick_late_ms']} ms{gen}")


def limit_of(step: dict) -> str:
    """What held a failing step back: the load, other work on the bridge's cpu, or the bridge."""
    if step["generator_limited"]:
        return f"the load ({step['generator_limited']})"
    waited = step.get("bridge_runqueue_wait_ms_per_s", 0.0)
    if waited >= BUSY_CPU_WAIT_MS:
        return f"other work on the bridge's cpu (the loop waited {waited:g} ms/s to run) or the bridge"
    return "the bridge"


def verdict(results: list[dict], p99: float) -> dict:
    out = {}
    for name in dict.fromkeys(r["bridge"] for r in results):
        steps = [r for r in results if r["bridge"] == name]
        passing = [r for r in steps if r["ok"]]
        best = max(passing, key=lambda r: r["calls"], default=None)
        first_fail = next((r for r in steps if not r["ok"]), None)
        out[name] = {"max_calls": best["calls"] if best else 0,
                     "cpu_ms_per_call_s_at_max": best["cpu_ms_per_call_s"] if best else None,
                     "limit": None if first_fail is None else limit_of(first_fail)}
    text = "; ".join(f"{k}: max {v['max_calls']} calls meeting p99 <= {p99:g} ms with zero lost/dropped"
                     f" (CPU {v['cpu_ms_per_call_s_at_max']} ms per call-second there"
                     f"{'' if v['limit'] is None else '; the first failing step was limited by ' + v['limit']})"
                     for k, v in out.items())
    return {"by_bridge": out, "line": "VERDICT " + text}


async def run_steps(stack: Stack, args: argparse.Namespace) -> list[dict]:
    """Each count on each bridge in turn (ours, then the reference), until both have failed."""
    results: list[dict] = []
    failed: set[str] = set()
    for base, _ in stack.bridges.values():
        await wait_ready(base + "/readyz")
    for n in args.counts:
        for name in stack.bridges:
            if name in failed:
                continue
            step = await run_step(stack, name, n, args.seconds)
            step["ok"] = step["p99_forward_ms"] <= args.p99_ms and step["frames_lost"] == 0 \
                and step["frames_dropped"] == 0
            results.append(step)
            print(line(step), flush=True)
            await asyncio.sleep(2.0)  # calls wind down
            if not step["ok"] and n > 1 and not args.keep_going:
                failed.add(name)
        if len(failed) == len(stack.bridges):
            break
    return results


async def _run(args: argparse.Namespace) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bridge-bench-"))
    own_cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    stack = Stack(tmp, args)
    try:
        stack.start()
        await _provision_streams(stack.nats)  # the bridge's role only waits for them
    finally:
        if own_cpus:
            os.sched_setaffinity(0, own_cpus)  # only the children stay pinned
    _, load_cpus = cpu_plan(not args.no_pin)
    if load_cpus:
        os.sched_setaffinity(0, load_cpus)  # the harness shares the load generators' cpu
    try:
        results = await run_steps(stack, args)
    finally:
        stack.stop()
        if own_cpus:
            os.sched_setaffinity(0, own_cpus)
    bridge_cpus, load_cpus = cpu_plan(not args.no_pin)
    result = {"verdict": verdict(results, args.p99_ms), "criteria": {"p99_forward_ms": args.p99_ms, "dropped": 0},
              "inbound_rate": args.inbound_rate, "seconds_per_step": args.seconds, "steps": results,
              "reference": {"cpu_reference_s": cpu_reference(), "cpus": os.cpu_count(),
                            "bridge": f"one process on cpu {sorted(bridge_cpus)} alone" if bridge_cpus
                            else "one process, unpinned",
                            "load_generators_cpus": sorted(load_cpus) if load_cpus else None,
                            "bridge_root": args.bridge_root or str(ROOT), "bridge_env": args.bridge_env}}
    print(result["verdict"]["line"], flush=True)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", default="1,50,100,150,200,250,300",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--p99-ms", type=float, default=5.0)
    parser.add_argument("--inbound-rate", type=int, default=16000, choices=(8000, 16000))
    parser.add_argument("--gemini-pace", type=float, default=1.0, help="agent audio after the burst, × real time")
    parser.add_argument("--keep-going", action="store_true", help="measure every count, even after a failure")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin the bridge to its own cpu (default: bridge alone on one cpu)")
    parser.add_argument("--no-reference", action="store_true", help="skip the Pipecat-style reference")
    parser.add_argument("--bridge-root", default="", help="run the bridge of another checkout (before/after)")
    parser.add_argument("--bridge-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for our bridge (e.g. BRIDGE_INBOUND_BATCH_MS=40)")
    parser.add_argument("--uvloop", action="store_true",
                        help="force uvloop on a checkout older than EVENT_LOOP (this one runs on uvloop by default; "
                             "--bridge-env EVENT_LOOP=asyncio for asyncio's loop)")
    parser.add_argument("--json", default="", help="also write the full result here")
    args = parser.parse_args(argv)
    result = asyncio.run(_run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
