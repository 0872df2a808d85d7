"""Load test of the web app on loopback: N concurrent users register, log in, browse, keep a
diary, run the symptom check and upload videos for analysis, against a real `facenerve serve`
(uvicorn, SQLite by default). Bounded in requests and time; prints JSON figures.

    .venv/bin/python scripts/load_web.py --users 50 --rounds 5 --uploads 10
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class User:
    def __init__(self, base: str, i: int, stats: dict) -> None:
        self.c = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
        self.email, self.stats, self.pid = f"user{i}@example.org", stats, None

    def call(self, method: str, url: str, ok=(200, 201, 303), **kw) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = self.c.request(method, url, **kw)
        except httpx.HTTPError as err:
            self.stats["errors"].append(f"{method} {url}: {type(err).__name__}")
            return None
        self.stats["latency"].append(time.perf_counter() - t0)
        if r.status_code not in ok:
            self.stats["errors"].append(f"{method} {url}: HTTP {r.status_code}")
        return r

    def form(self, url: str, data: dict, **kw):
        return self.call("POST", url, data={**data, "csrf": self.csrf()}, **kw)

    def csrf(self) -> str:
        """The token this session's pages carry (bound to the login session)."""
        page = self.c.get("/login").text
        return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)

    def register(self) -> None:
        self.call("GET", "/login")
        pw = "load test password"
        self.form("/register", {"name": self.email, "email": self.email, "password": pw, "password2": pw})
        r = self.form("/login", {"email": self.email, "password": pw})  # registering does not log in
        if r is not None and r.status_code == 303 and r.headers["location"].startswith("/p/"):
            self.pid = int(r.headers["location"].rsplit("/", 1)[1])

    def session(self, rounds: int, video: Path | None) -> None:
        if self.pid is None:
            return
        p = f"/p/{self.pid}"
        for k in range(rounds):
            self.call("GET", p)
            self.call("GET", f"{p}/recordings")
            self.form(f"{p}/diary", {"day": f"2026-01-{k + 1:02d}", "sleep_hours": str(5 + k % 4),
                                     "stress": str(k % 10), "twitching": str(k % 7)})
            self.call("GET", f"{p}/diary")
            self.form(f"{p}/triage", {"complaints": ["twitching"], "twitch_regions": ["lower_eyelid"],
                                      "action": "result"})
        if video is not None:
            with open(video, "rb") as f:
                token = self.csrf()
                r = self.call("POST", f"{p}/recordings", params={"csrf": token}, data={"kind": "twitch"},
                              files={"file": (video.name, f, "video/mp4")}, headers={"Accept": "application/json"})
            if r is not None and r.status_code == 201:
                self.stats["uploads"].append((self, r.json()["url"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5, help="browse/diary/triage rounds per user")
    ap.add_argument("--uploads", type=int, default=10, help="users who also upload a video")
    ap.add_argument("--workers", type=int, default=1, help="analysis workers of the server")
    ap.add_argument("--database-url", help="default: SQLite in a temporary folder")
    ap.add_argument("--timeout", type=float, default=900, help="give up waiting for analyses after this")
    args = ap.parse_args()

    from facenerve.simulate import example_video

    video = example_video()
    tmp = tempfile.mkdtemp(prefix="facenerve-load-")
    port = free_port()
    cmd = [sys.executable, "-m", "facenerve.cli", "serve", "--data-dir", tmp, "--port", str(port),
           "--workers", str(args.workers)] + (["--database-url", args.database_url] if args.database_url else [])
    server = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        stats: dict = {"latency": [], "errors": [], "uploads": []}
        users = [User(base, i, stats) for i in range(args.users)]
        t0 = time.perf_counter()
        threads = [threading.Thread(target=u.register) for u in users]
        [t.start() for t in threads]
        [t.join() for t in threads]
        t_reg = time.perf_counter() - t0
        t1 = time.perf_counter()
        threads = [threading.Thread(target=u.session, args=(args.rounds, video if i < args.uploads else None))
                   for i, u in enumerate(users)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        t_browse = time.perf_counter() - t1
        n_requests = len(stats["latency"])
        lat = sorted(stats["latency"])
        # wait for the analyses
        done, failed, end = 0, 0, time.monotonic() + args.timeout
        pending = list(stats["uploads"])
        while pending and time.monotonic() < end:
            still = []
            for u, url in pending:
                s = u.c.get(f"{url}/status").json()["status"]
                if s == "done":
                    done += 1
                elif s == "failed":
                    failed += 1
                else:
                    still.append((u, url))
            pending = still
            time.sleep(1)
        t_all = time.perf_counter() - t1
        out = {
            "users": args.users, "registered": sum(u.pid is not None for u in users),
            "requests": n_requests, "errors": len(stats["errors"]), "error_examples": stats["errors"][:5],
            "register_s": round(t_reg, 2), "browse_s": round(t_browse, 2),
            "requests_per_s": round(n_requests / t_browse, 1) if t_browse else None,
            "latency_ms": {"p50": round(1000 * statistics.median(lat), 1) if lat else None,
                           "p95": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
                           "max": round(1000 * lat[-1], 1) if lat else None},
            "analyses": {"uploaded": len(stats["uploads"]), "done": done, "failed": failed,
                         "unfinished": len(pending), "all_done_after_s": round(t_all, 1)},
            "server_workers": args.workers, "cpu_count": os.cpu_count(),
        }
        print(json.dumps(out, indent=2))
        return 0 if not stats["errors"] and not failed and not pending else 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
