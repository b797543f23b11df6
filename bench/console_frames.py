#!/usr/bin/env python3
"""Console responsiveness under load, measured inside headless Chromium (stdlib only).

Starts chromedriver, opens the console at URL, waits until the page has loaded every
device and its stream is live, then for --seconds records in the page:
  - the interval between animation frames (requestAnimationFrame), while the map is
    panned and zoomed by script every 100 ms (what a person dragging it would cause),
  - long tasks (PerformanceObserver 'longtask': main-thread tasks over 50 ms),
  - the map's own draw time per frame, and the stream events applied per second.
Prints one JSON object. Used by bench/console-load.sh; numbers go to BENCHMARKS.md.
"""
import argparse, base64, json, socket, subprocess, tempfile, time, urllib.request

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,900"]

MEASURE = r"""
const [seconds, done] = [arguments[0], arguments[arguments.length - 1]];
const map = trackgate.views.map.map;
const frames = [], tasks = [], draws0 = {...map.stats};
let events = 0;
trackgate.store.on((k) => { if (k === 'position' || k === 'eta' || k === 'alert') events++; });
const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) tasks.push(e.duration); });
obs.observe({ type: 'longtask' });
let last = performance.now(), step = 0;
const t0 = last;
const pan = setInterval(() => {
  step++;
  if (step % 20 < 10) map.panBy(40, 15); else map.panBy(-40, -15);
  if (step % 50 === 0) map.zoomBy(step % 100 === 0 ? -1 : 1);
}, 100);
function tick(now) {
  frames.push(now - last); last = now;
  if (now - t0 < seconds * 1000) requestAnimationFrame(tick);
  else {
    clearInterval(pan); obs.disconnect();
    const st = map.stats;
    done({ frames, tasks, events, drawFrames: st.frames - draws0.frames,
           drawMs: st.drawMs - draws0.drawMs, maxDrawMs: st.maxDrawMs,
           devices: trackgate.store.devices.size,
           markers: +map.canvas.dataset.markers, clusters: +map.canvas.dataset.clusters });
  }
}
requestAnimationFrame(tick);
"""


def pct(v, p):
    v = sorted(v)
    return round(v[min(len(v) - 1, int(p / 100 * len(v)))], 1) if v else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--devices", type=int, default=10000)
    ap.add_argument("--screenshot")
    a = ap.parse_args()
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    drv = subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def req(method, path, body=None, timeout=300):
        r = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                   data=None if body is None else json.dumps(body).encode(),
                                   headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(r, timeout=timeout).read())["value"]

    for _ in range(200):
        try:
            req("GET", "/status"); break
        except OSError:
            time.sleep(0.1)
    profile = tempfile.mkdtemp()
    sid = req("POST", "/session", {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
        "binary": "/usr/bin/chromium", "args": FLAGS + [f"--user-data-dir={profile}"]}}}})["sessionId"]
    try:
        req("POST", f"/session/{sid}/timeouts", {"script": int((a.seconds + 60) * 1000)})
        t = time.time()
        req("POST", f"/session/{sid}/url", {"url": a.url})
        ready = ("return document.body.dataset.loaded === 'true' && "
                 "document.getElementById('live').dataset.state === 'live' && trackgate.store.devices.size;")
        while True:
            n = req("POST", f"/session/{sid}/execute/sync", {"script": ready, "args": []})
            if n and n >= a.devices:
                break
            if time.time() - t > 120:
                raise SystemExit(f"page not ready with {a.devices} devices after 120 s (has {n})")
            time.sleep(0.5)
        load_s = round(time.time() - t, 1)
        r = req("POST", f"/session/{sid}/execute/async", {"script": MEASURE, "args": [a.seconds]})
        if a.screenshot:
            png = req("GET", f"/session/{sid}/screenshot")
            open(a.screenshot, "wb").write(base64.b64decode(png))
    finally:
        try:
            req("DELETE", f"/session/{sid}")
        finally:
            drv.kill()
    f = r["frames"][1:]
    print(json.dumps({
        "devices_in_page": r["devices"], "page_ready_s": load_s, "seconds": a.seconds,
        "fps": round(len(f) / a.seconds, 1),
        "frame_ms": {"p50": pct(f, 50), "p95": pct(f, 95), "p99": pct(f, 99), "max": pct(f, 100)},
        "frames_over_50ms": sum(1 for x in f if x > 50),
        "long_tasks": {"count": len(r["tasks"]), "total_ms": round(sum(r["tasks"]), 1),
                       "max_ms": round(max(r["tasks"]), 1) if r["tasks"] else 0},
        "map_draw_ms": {"mean": round(r["drawMs"] / max(1, r["drawFrames"]), 2), "max": round(r["maxDrawMs"], 1)},
        "stream_events_per_s": round(r["events"] / a.seconds, 1),
        "map_markers": r["markers"], "map_clusters": r["clusters"],
    }))


if __name__ == "__main__":
    main()
