"""Ping → pixel on /wall in real headless Chromium, and bytes on the wire per live update.

    python -m bench.pixel [--quick]

A `posko serve` subprocess on a fresh SQLite file holding the 1,012-TPS OKU Timur registry;
Chromium at 1920x1080 signed in with the kiosk link on /wall. A probe phone (its own websocket
and device token) flips one well-isolated TPS between aman (green) and gangguan (red) every
~250 ms. The page records, on the wall clock it shares with this process
(`performance.timeOrigin + performance.now()` against Python's `time.time()`, same machine):

(a) data: the first moment `gd._fullData[0].marker.color[j]` (the array the live client patches)
    holds the new colour, checked on every animation frame and on Plotly's afterplot/react events;
(b) screen: the map canvas pixel at the marker's centre, read with `gl.readPixels` inside
    MapLibre's `render` event (the drawing buffer is still valid there, so
    preserveDrawingBuffer=false does not matter), is nearer the new colour than the old; the
    time taken is that of the next animation frame, i.e. once that frame has been handed to
    the compositor.

Baseline in the same run: the same probes with no other load (idle). Then a load process
(one separate client process: 20 websockets of other officers' phones, ~500 pings/s, one ping
per frame, each awaited, random TPS except the probed one; one ping in ten changes its TPS's
situation, the rest confirm it) runs while the probes repeat. The load process also holds a
`/ws/live` subscription with the wall's kiosk credential and counts every frame's bytes and the
TPS states they carry: bytes on the wire per changed TPS, against the size of the full map figure
(what a whole resend would cost).
"""

import argparse
import asyncio
import multiprocessing as mp
import os
import queue
import random
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as EventT
from pathlib import Path
from typing import Any

import orjson

from bench.figures import Figure
from tests.helpers import uuid7

SUITE_PIXEL = "pixel"
SUITE_WIRE = "wire"
VIEWPORT = (1920, 1080)
RATE = 500.0  # background pings per second
LOAD_CONNECTIONS = 20
CHANGE_SHARE = 0.1  # share of background pings that change their TPS's situation
PROBE_EVERY_S = 0.25
PROBE_TIMEOUT_MS = 5000
TARGET_DATA_P95_MS = 150.0
TARGET_SCREEN_P95_MS = 400.0
TARGET_BYTES_PER_TPS = 1024.0
GREEN = "#22c55e"  # theme.SITUATION_COLOURS, read again at run time
RED = "#ef4444"

# Installed once in the page: probe state, the (a)/(b) observers, and a way to pick the probe.
PAGE_SETUP = """([mapId]) => {
  if (window.__px) return window.__px.method;
  const P = window.__px = {armed: false, method: 'composite of the overlay and the map canvas'};
  const wall = () => performance.timeOrigin + performance.now();
  const graph = () => document.querySelector('#' + mapId + ' .js-plotly-plot');
  const theMap = () => graph()._fullLayout.map._subplot.map;
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const dist = (a, b) => a.reduce((s, v, i) => s + (v - b[i]) * (v - b[i]), 0);
  P.finish = () => {
    if (!P.armed) return;
    P.armed = false;
    clearTimeout(P.timer);
    const a = window.poskoLive.appliedAt(P.code);
    const pt = window.poskoLive.painted ? window.poskoLive.painted(P.code) : null;
    const painted = pt && pt[0] === P.want && pt[1] >= P.armedAt
      ? performance.timeOrigin + pt[1] : null;
    P.resolve({data: P.tData || null, pixel: P.tPixel || null, shown: P.tShown || null,
               src: P.src || null, socket: P.tSocket || null, painted,
               applied: a && a !== P.applied0 ? performance.timeOrigin + a : null});
  };
  P.arm = (want, old, j) => {
    P.want = want; P.wantRgb = rgb(want); P.oldRgb = rgb(old); P.j = j;
    P.tData = P.tPixel = P.tShown = P.tSocket = 0; P.src = null;
    P.applied0 = window.poskoLive.appliedAt(P.code);
    P.armedAt = performance.now();
    P.seq = (P.seq || 0) + 1;
    P.done = new Promise((r) => { P.resolve = r; });
    P.armed = true;
    P.timer = setTimeout(P.finish, %(timeout)d);
  };
  const checkData = (src) => {
    if (!P.armed || P.tData) return;
    const fd = graph() && graph()._fullData && graph()._fullData[0];
    if (fd && fd.marker.color[P.j] === P.want) {
      P.tData = wall();
      if (P.method === 'two animation frames after (a)') {
        const seq = P.seq;
        requestAnimationFrame(() => requestAnimationFrame(() => {
          if (P.seq === seq) { P.tShown = wall(); P.finish(); } }));
      }
    }
  };
  // What the screen shows at the probe: the overlay's pixel where it is opaque, else the map
  // canvas's pixel as its last render left it (read in MapLibre's render event, while the
  // drawing buffer is valid).
  P.mapPx = null;
  const overlayPx = () => {
    const ov = document.querySelector('#' + mapId + ' canvas.posko-overlay');
    if (!ov || !ov.width || !ov.clientWidth) return null;
    const k = ov.width / ov.clientWidth;
    const x = Math.round(P.x * k), y = Math.round(P.y * k);
    return Array.from(ov.getContext('2d').getImageData(x, y, 1, 1).data);
  };
  P.screenPx = () => {
    const ov = overlayPx();
    return ov && ov[3] > 128 ? ov : P.mapPx;
  };
  const checkScreen = (src) => {
    if (P.x === undefined || !P.armed || P.tPixel) return;
    if (P.method === 'two animation frames after (a)') return;
    const ov = overlayPx();
    const p = ov && ov[3] > 128 ? ov : P.mapPx;
    if (!p) return;
    if (dist(p.slice(0, 3), P.wantRgb) < dist(p.slice(0, 3), P.oldRgb)) {
      P.tPixel = wall(); P.src = ov && ov[3] > 128 ? 'overlay' : src;
      const seq = P.seq;  // a frame of a probe that timed out must not end the next one
      requestAnimationFrame(() => { if (P.seq === seq) { P.tShown = wall(); P.finish(); } });
    }
  };
  // The page's thread per animation frame: gaps between frames, and long tasks (> 50 ms).
  P.gaps = []; P.longMs = 0; P.longN = 0;
  let lastFrame = 0;
  const frame = (t) => {
    if (lastFrame && P.gaps.length < 100000) P.gaps.push(t - lastFrame);
    lastFrame = t;
    checkData('raf'); checkScreen('map');
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) { P.longMs += e.duration; P.longN += 1; }
    }).observe({type: 'longtask', buffered: false});
  } catch (e) { P.noLongtask = String(e); }
  graph().on('plotly_afterplot', () => checkData('afterplot'));
  graph().on('plotly_react', () => checkData('react'));
  const map = theMap();
  P.repaint = () => map.triggerRepaint();  // a first read of the map's pixel at the probe
  const px = new Uint8Array(4);
  P.read = () => {
    const canvas = map.getCanvas();
    const gl = map.painter.context.gl;
    const k = canvas.width / canvas.clientWidth;
    const x = Math.round(P.x * k), y = Math.round(canvas.height - P.y * k - 1);
    if (map.painter.context.bindFramebuffer) map.painter.context.bindFramebuffer.set(null);
    gl.readPixels(x, y, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
    P.lastPx = Array.from(px);
    return P.lastPx;
  };
  map.on('render', () => {
    if (P.x === undefined) return;
    // Every render: the map renders only when it draws (every few seconds) or moves.
    P.mapPx = P.read();
    checkScreen('map');
  });
  return P.method;
}"""

# The page's thread since the last call: frame gaps (ms) and long tasks; resets them.
THREAD = """() => { const P = window.__px;
  const out = {gaps: P.gaps, longMs: P.longMs, longN: P.longN,
    t: performance.now(), noLongtask: P.noLongtask || null};
  P.gaps = []; P.longMs = 0; P.longN = 0; return out; }"""

# Codes of on-screen TPS markers, the most isolated first, with their screen positions.
PICK_PROBES = """([mapId]) => {
  const g = document.querySelector('#' + mapId + ' .js-plotly-plot');
  const fd = g._fullData[0];
  const map = g._fullLayout.map._subplot.map;
  const c = map.getCanvas();
  const pts = fd.ids.map((code, j) => {
    const p = map.project([fd.lon[j], fd.lat[j]]);
    return {code, j, x: p.x, y: p.y};
  });
  const inside = pts.filter((p) => p.x > 40 && p.y > 40
    && p.x < c.clientWidth - 40 && p.y < c.clientHeight - 40);
  inside.forEach((p) => {
    p.gap = Math.min(...pts.filter((q) => q !== p).map((q) => Math.hypot(q.x - p.x, q.y - p.y)));
  });
  inside.sort((a, b) => b.gap - a.gap);
  return inside.slice(0, 40);
}"""

# Before any page script: note when a /ws/live frame naming the probed TPS reaches the page.
SOCKET_HOOK = """(() => {
  const Native = window.WebSocket;
  window.WebSocket = function (url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener('message', (ev) => {
      const P = window.__px;
      if (P && P.armed && !P.tSocket && P.code && ev.data.indexOf(P.code) >= 0) {
        P.tSocket = performance.timeOrigin + performance.now();
      }
    });
    return ws;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
})();"""

STATS = "() => Object.assign({t: performance.now()}, window.poskoLive.stats)"

MAP_READY = """(id) => {
  const g = document.querySelector('#' + id + ' .js-plotly-plot');
  return !!(g && g._fullData && g._fullData[0] && g._fullData[0].ids
    && g._fullData[0].ids.length && g._fullLayout.map && g._fullLayout.map._subplot
    && window.poskoLive && window.poskoLive.live);
}"""


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank on sorted values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]


# --- the background load (its own process) ----------------------------------------------------


def _ping(code: str, situation: str) -> bytes:
    return orjson.dumps(
        {
            "type": "ping",
            "event_id": str(uuid7()),
            "tps": code,
            "phase": "pemungutan",
            "situation": situation,
            "device_time": datetime.now(UTC).isoformat(),
        }
    )


async def _phone(
    ws_url: str, token: str, codes: list[str], rate: float, stop: EventT, out: dict[str, int]
) -> None:
    from websockets.asyncio.client import connect

    rng = random.Random(token)
    situations = ["aman", "waspada", "gangguan"]
    current: dict[str, str] = {}
    async with connect(
        f"{ws_url}/ws/field",
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
    ) as ws:
        every = 1.0 / rate
        due = time.monotonic() + rng.random() * every
        while not stop.is_set():
            code = rng.choice(codes)
            was = current.get(code, "aman")
            now = was
            if rng.random() < CHANGE_SHARE:
                now = rng.choice([s for s in situations if s != was])
            current[code] = now
            await ws.send(_ping(code, now).decode())
            ack = orjson.loads(await ws.recv())
            acks = ack if isinstance(ack, list) else [ack]
            out["stored"] += sum(1 for a in acks if a.get("result") == "stored")
            due += every
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0:
                due = time.monotonic()  # fell behind by a second: do not burst to catch up


async def _subscribe(ws_url: str, token: str, stop: EventT, out: dict[str, int]) -> None:
    from websockets.asyncio.client import connect

    async with connect(
        f"{ws_url}/ws/live",
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        max_size=None,
    ) as ws:
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=0.5)
            except TimeoutError:
                continue
            data = text.encode() if isinstance(text, str) else text
            if not out["counting"]:
                continue
            out["bytes"] += len(data)
            out["frames"] += 1
            msg = orjson.loads(data)
            if msg.get("type") == "delta":
                out["deltas"] += 1
                out["tps"] += len(msg.get("tps") or [])
            elif msg.get("type") == "resync":
                out["resyncs"] += 1


async def _load_main(
    ws_url: str,
    tokens: list[str],
    codes: list[str],
    kiosk: str,
    rate: float,
    warmup_s: float,
    stop: EventT,
) -> dict[str, float]:
    out = {"stored": 0, "bytes": 0, "frames": 0, "deltas": 0, "tps": 0, "resyncs": 0}
    out["counting"] = 0
    per = rate / len(tokens)
    tasks = [asyncio.create_task(_phone(ws_url, t, codes, per, stop, out)) for t in tokens]
    tasks.append(asyncio.create_task(_subscribe(ws_url, kiosk, stop, out)))
    await asyncio.sleep(warmup_s)
    # Counted from here: warm-up pings (first states of many TPS) are not the steady picture.
    out["stored"] = 0
    out["counting"] = 1
    started = time.monotonic()
    # The stop flag is a multiprocessing Event (another process sets it): poll it.
    while not stop.is_set():  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    out["counting"] = 0
    await asyncio.gather(*tasks, return_exceptions=True)
    return {**{k: float(v) for k, v in out.items()}, "seconds": elapsed}


def load_process(
    ws_url: str,
    tokens: list[str],
    codes: list[str],
    kiosk: str,
    rate: float,
    warmup_s: float,
    stop: EventT,
    result: "mp.Queue[dict[str, float]]",
) -> None:
    """Entry of the load process: phones at `rate` pings/s and one live subscriber until `stop`."""
    result.put(asyncio.run(_load_main(ws_url, tokens, codes, kiosk, rate, warmup_s, stop)))


# --- the probe --------------------------------------------------------------------------------


def _near_wanted(px: list[int] | None, red: bool) -> bool:
    """Whether a read pixel is nearer the probe's current colour than the other one."""
    if not px:
        return False

    def dist(hex_: str) -> int:
        rgb = [int(hex_[i : i + 2], 16) for i in (1, 3, 5)]
        return sum((a - b) ** 2 for a, b in zip(px[:3], rgb, strict=True))

    want, other = (RED, GREEN) if red else (GREEN, RED)
    return dist(want) < dist(other)


class LiveWatcher:
    """A Python `/ws/live` subscriber in this process: when the probe's delta left the server.

    It splits the server's share from the browser's: `at` in the delta is the server's clock
    when the delta was built (after the ping's commit); the arrival here is when it was on the
    wire (queue, loop and send behind it), before the page's main thread had any part in it.
    """

    def __init__(self, ws_url: str, token: str, code: str) -> None:
        import threading

        from websockets.sync.client import connect

        self.code = code
        self.seen: list[tuple[float, float, str]] = []  # (arrival ms, server `at` ms, situation)
        self._lock = threading.Lock()
        self._ws = connect(
            f"{ws_url}/ws/live",
            additional_headers={"Authorization": f"Bearer {token}"},
            compression=None,
            max_size=None,
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        needle = self.code.encode()
        try:
            for frame in self._ws:
                t = time.time() * 1000.0
                data = frame.encode() if isinstance(frame, str) else frame
                if needle not in data:
                    continue
                msg = orjson.loads(data)
                for st in msg.get("tps") or []:
                    if st.get("code") == self.code:
                        at = datetime.fromisoformat(msg["at"]).timestamp() * 1000.0
                        with self._lock:
                            self.seen.append((t, at, st.get("situation") or ""))
        except Exception:  # the socket closes at the end of the run
            return

    def first_after(self, t0: float, situation: str) -> tuple[float, float] | None:
        """(arrival, server `at`) of the first delta after t0 giving the probe `situation`."""
        with self._lock:
            self.seen = [x for x in self.seen if x[0] >= t0 - 1000.0]
            for t, at, sit in self.seen:
                if t >= t0 and sit == situation:
                    return t, at
        return None

    def close(self) -> None:
        """Close the socket (the thread ends with it)."""
        self._ws.close()


def probe_series(
    page: Any,
    phone: Any,
    code: str,
    j: int,
    n: int,
    flip: list[bool],
    stages: list[dict] | None = None,
    watcher: LiveWatcher | None = None,
) -> tuple[list[float], list[float], int]:
    """Send n colour-flipping pings about `code`; return (data ms, screen ms, misses)."""
    data_ms: list[float] = []
    screen_ms: list[float] = []
    misses = 0
    for _ in range(n):
        red = flip[0] = not flip[0]
        want, old = (RED, GREEN) if red else (GREEN, RED)
        page.evaluate("([w, o, j]) => window.__px.arm(w, o, j)", [want, old, j])
        t0 = time.time() * 1000.0
        phone.send(_ping(code, "gangguan" if red else "aman").decode())
        res = page.evaluate("() => window.__px.done")
        ack = orjson.loads(phone.recv(timeout=10))
        assert ack["result"] == "stored", ack
        if stages is not None:
            row = {k: (v - t0 if isinstance(v, float | int) else v) for k, v in res.items()}
            seen = watcher.first_after(t0, "gangguan" if red else "aman") if watcher else None
            if seen is not None:
                row["wire"], row["built"] = seen[0] - t0, seen[1] - t0
            stages.append(row)
        if res["shown"] and (res["pixel"] or res["data"]):
            # (a) the colour in what the page draws from: Plotly's data or the overlay's paint.
            drawn = [v for v in (res["data"], res["painted"]) if v]
            data_ms.append(min(drawn) - t0 if drawn else res["pixel"] - t0)
            screen_ms.append(res["shown"] - t0)
        else:
            misses += 1
        rest = PROBE_EVERY_S - (time.time() * 1000.0 - t0) / 1000.0
        if rest > 0:
            time.sleep(rest)
    return data_ms, screen_ms, misses


def measure(quick: bool, probes: int | None = None) -> dict[str, Any]:
    """Run the whole scenario (`probes` per phase, else 12 quick / 200); return raw samples."""
    from playwright.sync_api import sync_playwright

    from dashboard import ids, theme
    from tests.dashboard.scenario import CHROMIUM, CHROMIUM_ARGS, make_settings, seed
    from tests.scale.conftest import node_env, start_node

    assert theme.SITUATION_COLOURS["aman"] == GREEN
    assert theme.SITUATION_COLOURS["gangguan"] == RED
    n = probes or (12 if quick else 200)
    out: dict[str, Any] = {"n": n}
    with tempfile.TemporaryDirectory(prefix="posko-pixel-") as tmp:
        db = Path(tmp) / "posko.db"
        settings = make_settings(db)
        seeded = seed(settings)
        env = node_env(f"sqlite:///{db}")
        env.pop("POSKO_REGION_DATA_DIR")  # the wall draws the real boundaries
        node = start_node(env, Path(tmp))
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_context(
                        viewport={"width": VIEWPORT[0], "height": VIEWPORT[1]}
                    ).new_page()
                    page.add_init_script(SOCKET_HOOK)
                    if NO_OVERLAY:
                        page.add_init_script("window.poskoOverlay = false;")
                    page.goto(f"{node.url}/login?token={seeded.kiosk}&next=/wall")
                    page.wait_for_function(MAP_READY, arg=ids.WALL.map, timeout=60_000)
                    time.sleep(2)  # boundaries and first paint settle
                    out.update(_run_probes(page, node, seeded, ids.WALL.map, n, quick))
                finally:
                    browser.close()
        finally:
            node.stop()
    return out


def _run_probes(page: Any, node: Any, seeded: Any, map_id: str, n: int, quick: bool) -> dict:
    from tests.helpers import field_socket

    setup = PAGE_SETUP % {"timeout": PROBE_TIMEOUT_MS}
    method = page.evaluate(setup, [map_id])
    officer_of = {v.code: v.officers[0] for v in seeded.views if v.officers}
    candidates = [c for c in page.evaluate(PICK_PROBES, [map_id]) if c["code"] in officer_of]
    probe = candidates[0]
    code, j = probe["code"], probe["j"]
    page.evaluate(
        "([x, y, c]) => { window.__px.x = x; window.__px.y = y; window.__px.code = c;"
        " window.__px.repaint(); }",
        [probe["x"], probe["y"], code],
    )
    token = seeded.devices[officer_of[code]]
    figure_bytes = page.evaluate(
        "(id) => JSON.stringify(window.dash_component_api.getLayout(id).props.figure).length",
        map_id,
    )
    res: dict[str, Any] = {"probe": code, "gap_px": probe["gap"], "figure_bytes": figure_bytes}
    flip = [True]  # next flip goes to green (aman)
    watcher = LiveWatcher(node.ws_url, seeded.kiosk, code)
    with field_socket(node.ws_url, token) as phone:
        # Warm-up: the first flips (first state of this TPS, first patches) are not measured.
        probe_series(page, phone, code, j, 6, flip)
        res["pixel_check"] = page.evaluate("() => window.__px.screenPx()")
        if not _near_wanted(res["pixel_check"], flip[0]):
            # The canvas read nothing useful (blank buffer): fall back to the usual estimate.
            method = "two animation frames after (a)"
            page.evaluate("(m) => { window.__px.method = m; }", method)
        res["method"] = method
        res["loadavg_idle"] = os.getloadavg()[0]
        res["idle_stages"] = []
        page.evaluate(THREAD)
        res["idle"] = probe_series(page, phone, code, j, n, flip, res["idle_stages"], watcher)
        res["thread_idle"] = page.evaluate(THREAD)
        res["loop_lag_idle_ms"] = _loop_lag(node.url)
        others = [v.code for v in seeded.views if v.code != code]
        probe_nrp = officer_of[code]
        tokens = [t for nrp, t in sorted(seeded.devices.items()) if nrp != probe_nrp]
        ctx = mp.get_context("spawn")
        stop = ctx.Event()
        result: mp.Queue[dict[str, float]] = ctx.Queue()
        warmup = 2.0 if quick else 5.0
        proc = ctx.Process(
            target=load_process,
            args=(
                node.ws_url,
                tokens[:LOAD_CONNECTIONS],
                others,
                seeded.kiosk,
                RATE,
                warmup,
                stop,
                result,
            ),
            daemon=True,
        )
        proc.start()
        try:
            time.sleep(warmup + 1.0)
            if PROFILE_TO:
                _profile(page, Path(PROFILE_TO))
            stats0 = page.evaluate(STATS)
            page.evaluate(THREAD)
            res["loadavg_load"] = os.getloadavg()[0]
            res["load_stages"] = []
            res["load"] = probe_series(page, phone, code, j, n, flip, res["load_stages"], watcher)
            res["loop_lag_load_ms"] = _loop_lag(node.url)
            stats1 = page.evaluate(STATS)
            res["thread_load"] = page.evaluate(THREAD)
        finally:
            stop.set()
            try:
                res["wire"] = result.get(timeout=60)
            except queue.Empty:
                raise RuntimeError(
                    f"the load process gave no result (exit {proc.exitcode})"
                ) from None
            finally:
                proc.join(timeout=30)
                if proc.is_alive():
                    proc.kill()
    watcher.close()
    res["browser_bytes"] = stats1["bytes"] - stats0["bytes"]
    res["browser_frames"] = stats1["frames"] - stats0["frames"]
    res["browser_resyncs"] = stats1["resyncs"] - stats0["resyncs"]
    res["browser_patches"] = stats1["patches"] - stats0["patches"]
    res["load_s"] = stats1["t"] - stats0["t"]
    for k in ("mapDraws", "mapDrawMs", "chartDraws", "chartDrawMs", "overlayPaints", "overlayMs"):
        # Counters of the live client (a client without them counts nothing).
        res[f"browser_{k}"] = (stats1.get(k) or 0) - (stats0.get(k) or 0)
    return res


def _loop_lag(url: str) -> float | None:
    """The server's worst event-loop lag of the last 10-20 s (/healthz), in ms."""
    import httpx

    try:
        return float(httpx.get(url + "/healthz", timeout=5).json().get("loop_lag_ms"))
    except (httpx.HTTPError, ValueError, TypeError):
        return None


# Per graph: how often Plotly.react ran and how long until its promise settled.
WRAP_REACT = """() => {
  const R = window.__reacts = {};
  const orig = window.Plotly.react;
  window.Plotly.react = function (gd) {
    const id = (gd.id || (gd.parentElement && gd.parentElement.id) || '?');
    const r = R[id] = R[id] || {n: 0, sync: 0, done: 0};
    const t = performance.now();
    const out = orig.apply(this, arguments);
    r.n += 1; r.sync += performance.now() - t;
    Promise.resolve(out).then(() => { r.done += performance.now() - t; });
    return out;
  };
}"""
PROFILE_TO: str | None = None  # --profile: where to write a CPU profile of the page under load
NO_OVERLAY = False  # --no-overlay: the live client without its map overlay (A/B runs)


def _profile(page: Any, path: Path) -> None:
    """Ten seconds of the page's CPU under load (CDP profiler) and of every process (top)."""
    import subprocess

    page.evaluate(WRAP_REACT)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 1000})
    cdp.send("Profiler.start")
    top = subprocess.run(
        ["top", "-b", "-n", "2", "-d", "10", "-w", "200"], capture_output=True, text=True
    ).stdout
    prof = cdp.send("Profiler.stop")["profile"]
    prof["posko_react"] = page.evaluate("() => window.__reacts")
    path.write_bytes(orjson.dumps(prof))
    path.with_suffix(".top.txt").write_text(top.split("\n\n\n")[-1] if top else "")


STAGES = (
    ("built", "delta built on the server"),
    ("wire", "delta on the wire"),
    ("socket", "frame handled in the page"),
    ("painted", "painted on the overlay"),
    ("applied", "patch handed to Dash"),
    ("data", "colour in Plotly's data"),
    ("pixel", "pixel drawn"),
    ("shown", "next frame"),
)


def split(m: dict[str, Any], phase: str) -> str:
    """Where a probe's time went, stage by stage: p50 / p95 ms after the ping was sent.

    Over the probes that reached the screen (a missed one would take its early stages only).
    """
    rows = [x for x in m.get(f"{phase}_stages", []) if isinstance(x.get("shown"), float | int)]
    cells = []
    for key, label in STAGES:
        vals = [x[key] for x in rows if isinstance(x.get(key), float | int)]
        if vals:
            cells.append(f"{label} {pct(vals, 50):.0f} / {pct(vals, 95):.0f}")
    lag = m.get(f"loop_lag_{phase}_ms")
    return " → ".join(cells) + (f" (server loop lag peak {lag:.0f} ms)" if lag is not None else "")


def figures_from(m: dict[str, Any]) -> list[Figure]:
    """Turn the raw samples into figures with same-run idle baselines."""
    idle_data, idle_screen, idle_miss = m["idle"]
    load_data, load_screen, load_miss = m["load"]
    w = m["wire"]
    rate = w["stored"] / w["seconds"] if w["seconds"] else float("nan")
    cond = (
        f"/wall 1920x1080, 1,012 TPS, headless Chromium (SwiftShader WebGL); probe TPS "
        f"{m['probe']} ({m['gap_px']:.0f} px from its nearest neighbour); {len(load_data)} "
        f"probes under load ({load_miss} missed >{PROBE_TIMEOUT_MS} ms), {len(idle_data)} idle "
        f"({idle_miss} missed); load: 1 client process, {LOAD_CONNECTIONS} phones, "
        f"{rate:.0f} stored pings/s measured, {CHANGE_SHARE:.0%} change a situation; machine "
        f"load average {m['loadavg_idle']:.1f} (idle) / {m['loadavg_load']:.1f} (load) on "
        f"{os.cpu_count()} cores; t0 = Python time.time() before send, page times = "
        f"performance.timeOrigin + performance.now(), both the same machine's wall clock"
    )
    secs = m.get("load_s", 0) / 1000.0
    if secs and m.get("browser_chartDraws") is not None:
        draws = m["browser_mapDraws"]
        cond += (
            f"; under load the page drew the map {draws / secs:.1f} times/s "
            f"({m['browser_mapDrawMs'] / max(draws, 1):.0f} ms each, patch to repaint) and "
            f"the timeline and progress bars {m['browser_chartDraws']} times in {secs:.0f} s "
            f"({m['browser_chartDrawMs'] / secs:.0f} ms of the page's thread per s)"
        )
    for phase in ("load", "idle"):
        th = m.get(f"thread_{phase}")
        if th and th["gaps"]:
            secs_th = sum(th["gaps"]) / 1000.0
            cond += (
                f"; page's thread {phase}: animation frame gap p50 / p95 / max "
                f"{pct(th['gaps'], 50):.0f} / {pct(th['gaps'], 95):.0f} / {max(th['gaps']):.0f} ms "
                f"over {len(th['gaps'])} frames, long tasks {th['longN']} "
                f"({th['longMs'] / secs_th:.0f} ms per s)"
            )
    if m.get("browser_overlayPaints"):
        cond += (
            f"; overlay painted {m['browser_overlayPaints']} times under load, "
            f"{m['browser_overlayMs'] / m['browser_overlayPaints']:.1f} ms each"
        )
    out: list[Figure] = []
    for what, load, idle, target in (
        ("ping → colour in figure data", load_data, idle_data, TARGET_DATA_P95_MS),
        ("ping → marker on screen", load_screen, idle_screen, TARGET_SCREEN_P95_MS),
    ):
        for q in (50, 95, 99):
            v = pct(load, q)
            out.append(
                Figure(
                    suite=SUITE_PIXEL,
                    name=f"{what} p{q}, {RATE:.0f} pings/s",
                    value=round(v, 1),
                    unit="ms",
                    baseline="same probe, no load (idle)",
                    baseline_value=round(pct(idle, q), 1),
                    target=f"p95 ≤ {target:.0f} ms" if q == 95 else None,
                    met=(v <= target) if q == 95 else None,
                    note=cond
                    + (
                        f"; screen = {m['method']}, next animation frame"
                        if "screen" in what
                        else ""
                    )
                    + (
                        f"; p50 / p95 ms after send under load: {split(m, 'load')}; idle: "
                        f"{split(m, 'idle')}"
                        if "screen" in what and q == 95
                        else ""
                    ),
                )
            )
    per_tps = w["bytes"] / w["tps"] if w["tps"] else float("nan")
    out.append(
        Figure(
            suite=SUITE_WIRE,
            name="/ws/live bytes per changed TPS",
            value=round(per_tps, 1),
            unit="bytes",
            baseline="full map figure JSON for 1,012 TPS (a whole resend)",
            baseline_value=float(m["figure_bytes"]),
            target=f"≤ {TARGET_BYTES_PER_TPS:.0f} bytes per changed TPS",
            met=per_tps <= TARGET_BYTES_PER_TPS,
            note=(
                f"{w['bytes']:.0f} bytes in {w['frames']:.0f} frames ({w['deltas']:.0f} deltas, "
                f"{w['resyncs']:.0f} resyncs) carrying {w['tps']:.0f} TPS states over "
                f"{w['seconds']:.0f} s at {rate:.0f} stored pings/s, counted by a Python "
                f"subscriber with the wall's kiosk credential; the browser's live client counted "
                f"{m['browser_bytes']} characters in {m['browser_frames']} frames "
                f"({m['browser_resyncs']} resyncs) and made {m['browser_patches']} figure patches"
            ),
        )
    )
    return out


def run(quick: bool) -> list[Figure]:
    """Measure ping → pixel and bytes on the wire; figures with same-run baselines."""
    m = measure(quick)
    return figures_from(m)


def main() -> None:
    """Print this suite's figures (and keep the raw samples with --raw FILE)."""
    parser = argparse.ArgumentParser(description="Ping -> pixel and bytes on the wire.")
    parser.add_argument("--quick", action="store_true", help="12 probes instead of 200")
    parser.add_argument("--probes", type=int, help="probes per phase (idle, load)")
    parser.add_argument("--raw", type=Path, help="write the raw samples here (JSON)")
    parser.add_argument("--profile", help="write a CPU profile of the page under load here")
    parser.add_argument(
        "--no-overlay", action="store_true", help="the live client without its map overlay"
    )
    args = parser.parse_args()
    global PROFILE_TO, NO_OVERLAY
    PROFILE_TO = args.profile
    NO_OVERLAY = args.no_overlay
    started = time.monotonic()
    m = measure(args.quick, args.probes)
    if args.raw:
        args.raw.write_bytes(orjson.dumps(m, option=orjson.OPT_INDENT_2))
    for f in figures_from(m):
        ratio = (
            f" = {f.value / f.baseline_value:.2f} x {f.baseline_value:g}"
            if f.baseline_value
            else ""
        )
        met = "" if f.met is None else (" met" if f.met else " MISSED")
        print(f"{f.suite:5} {f.name}: {f.value:g} {f.unit}{ratio} [{f.target or '-'}{met}]")
    print("pixel:", figures_from(m)[3].note)
    print("wire:", figures_from(m)[-1].note)
    for phase in ("idle", "load"):
        print(f"stages {phase} (p50 / p95 ms after send): {split(m, phase)}")
    print(f"took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
