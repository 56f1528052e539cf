"""The per-message cost table of docs/benchmarks.md from bridge profiles (``BENCH_PROFILE``).

    BENCH_PROFILE=/tmp/before.prof python -m bench.bridge_bench --counts 50 --no-reference --bridge-root OLD
    BENCH_PROFILE=/tmp/after.prof  python -m bench.bridge_bench --counts 50 --no-reference
    python -m bench.profile_table /tmp/before.prof /tmp/after.prof

µs of the bridge's CPU (the profiler's clock is thread CPU time) per caller frame: each
row's cumulative time divided by the number of Twilio media frames handled. The profiler
inflates Python-heavy rows several-fold; compare rows between columns, not with the bench.
"""

from __future__ import annotations

import pstats
import sys

# (row label, file suffix, function name, pick: "first"/"last" by line when a name repeats, or None)
ROWS: tuple[tuple[str, str, str, str | None], ...] = (
    ("Twilio read, whole (aiohttp `RequestHandler.data_received`: C parse, the tap, a forwarded frame)",
     "aiohttp/web_protocol.py", "data_received", None),
    ("  the tap: a media frame forwarded as parsed (`Call._take_media`)", "bridge/call.py", "_take_media", None),
    ("Twilio message handler, read loop (`Call._on_twilio_text`)", "bridge/call.py", "_on_twilio_text", None),
    ("  decode (msgspec)", "codecs/twilio.py", "decode", None),
    ("  μ-law → 16 kHz (`InboundAudio.process`)", "audio/pipeline.py", "process", "first"),
    ("  Gemini send incl. TLS (`AudioWriter.write`)", "bridge/live_fast.py", "write", None),
    ("    of which asyncio TLS layer (`_SSLProtocolTransport.write`, both sockets)", "asyncio/sslproto.py",
     "write", "first"),
    ("aiohttp WebSocket read (`WebSocketResponse.receive`)", "aiohttp/web_ws.py", "receive", None),
    ("aiohttp `async for` wrapper (`__anext__`)", "aiohttp/web_ws.py", "__anext__", None),
    ("Gemini read: websockets `data_received` (TLS read and frame parse)", "websockets/asyncio/connection.py",
     "data_received", None),
    ("Gemini read: `live_frames.ServerFrames.data_received` (whole plain frames, then the tap)",
     "bridge/live_frames.py", "data_received", None),
    ("Gemini read: `live_fast.receive` (msgspec decode)", "bridge/live_fast.py", "receive", None),
    ("model audio → Twilio frames (`Call.on_audio`)", "bridge/call.py", "on_audio", None),
    ("playback batches + marks to Twilio (`Playback._send_batch`)", "bridge/playback.py", "_send_batch", None),
    ("socket `send` syscalls (both sockets)", "~", "<method 'send' of '_socket.socket' objects>", None),
    ("TLS read ready (`_SelectorSocketTransport._read_ready`)", "asyncio/selector_events.py", "_read_ready", None),
    ("event loop `_run_once` (everything the loop runs)", "asyncio/base_events.py", "_run_once", None),
)


def frames_of(stats: pstats.Stats) -> int:
    """Caller frames handled: ``Call._caller_pcm`` runs once per frame on either path (the tap or
    the read loop); bridges before it have ``Call._on_media`` once per frame."""
    counts = {name: int(ncalls) for (file, _, name), (_, ncalls, *_rest) in stats.stats.items()  # type: ignore[attr-defined]
              if file.endswith("bridge/call.py") and name in ("_caller_pcm", "_on_media")}
    for name in ("_caller_pcm", "_on_media"):
        if name in counts:
            return counts[name]
    raise SystemExit("no Call._caller_pcm or _on_media in this profile: not a bridge under the bench?")


def row_us(stats: pstats.Stats, suffix: str, name: str, pick: str | None, frames: int) -> float | None:
    found = sorted((line, cum) for (file, line, fname), (_, _, _, cum, _) in stats.stats.items()  # type: ignore[attr-defined]
                   if fname == name and file.endswith(suffix))
    if not found:
        return None
    cum = found[0][1] if pick == "first" else found[-1][1] if pick == "last" else sum(c for _, c in found)
    return cum / frames * 1e6


def table(paths: list[str]) -> str:
    loaded = [pstats.Stats(p) for p in paths]
    frames = [frames_of(s) for s in loaded]
    head = "| per caller frame (µs of CPU, under cProfile) | " + " | ".join(paths) + " |"
    lines = [head, "|---|" + "---:|" * len(paths),
             "| caller frames handled | " + " | ".join(str(f) for f in frames) + " |",
             "| everything the profiler saw (`total_tt`) | "
             + " | ".join(f"{s.total_tt / f * 1e6:.1f}"  # type: ignore[attr-defined]
                          for s, f in zip(loaded, frames, strict=True)) + " |"]
    for label, suffix, name, pick in ROWS:
        cells = [row_us(s, suffix, name, pick, f) for s, f in zip(loaded, frames, strict=True)]
        lines.append(f"| {label} | " + " | ".join("—" if c is None else f"{c:.1f}" for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(sys.argv[1:]))
