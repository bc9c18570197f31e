#!/usr/bin/env python3
"""Receivers that push back, for bench/adaptive.sh (issue 36): one thread per connection,
standard library only.

    python3 bench/adaptive_sink.py --port 0 --capacity 6 --delay 50
        answers 429 at once when more than 6 requests are in flight, else 200 after 50 ms
    python3 bench/adaptive_sink.py --port 0 --delay 50
        no limit: 200 after 50 ms
    python3 bench/adaptive_sink.py --port 0 --per-second 20 --delay 10
        20 requests per wall-clock second (windows aligned on whole seconds): each answer
        carries X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset (the Unix time
        the window ends); past the budget, 429 with Retry-After

Prints `listening on http://127.0.0.1:PORT/`. `GET /stats` answers {"requests", "ok",
"throttled", "most_in_flight", "first_ns", "last_ns"} (monotonic ns of the first arrival and the
last answer); `GET /reset` zeroes them.
"""

import argparse
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
state = {}
args = None


def reset():
    state.update(requests=0, ok=0, throttled=0, most_in_flight=0, in_flight=0, first_ns=0,
                 last_ns=0, window=0, window_used=0)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def answer(self, status, headers=(), body=b"ok"):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/reset"):
            with lock:
                reset()
            return self.answer(200)
        with lock:
            body = json.dumps({k: v for k, v in state.items() if k not in ("window", "window_used", "in_flight")})
        self.answer(200, [("Content-Type", "application/json")], body.encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        now_ns = time.monotonic_ns()
        headers = []
        with lock:
            state["requests"] += 1
            state["first_ns"] = state["first_ns"] or now_ns
            state["in_flight"] += 1
            state["most_in_flight"] = max(state["most_in_flight"], state["in_flight"])
            over = args.capacity and state["in_flight"] > args.capacity
            if args.per_second:
                wall = time.time()
                window = math.floor(wall)
                if window != state["window"]:
                    state["window"], state["window_used"] = window, 0
                if state["window_used"] >= args.per_second:
                    over = True
                else:
                    state["window_used"] += 1
                left = args.per_second - state["window_used"]
                headers = [("X-RateLimit-Limit", str(args.per_second)),
                           ("X-RateLimit-Remaining", str(left)),
                           ("X-RateLimit-Reset", str(window + 1))]
                if over:
                    headers.append(("Retry-After", "1"))
        try:
            if over:
                with lock:
                    state["throttled"] += 1
                return self.answer(429, headers, b"slow down")
            time.sleep(args.delay / 1000)
            with lock:
                state["ok"] += 1
            self.answer(200, headers)
        finally:
            with lock:
                state["in_flight"] -= 1
                state["last_ns"] = time.monotonic_ns()


def main():
    global args
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=50, help="ms before a 200")
    parser.add_argument("--capacity", type=int, default=0, help="429 above this many in flight")
    parser.add_argument("--per-second", type=int, default=0, help="announced and enforced budget")
    args = parser.parse_args()
    reset()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
