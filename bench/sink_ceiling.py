#!/usr/bin/env python3
"""Measure the ceiling of bench/sink.py: blast POST bodies at it over one keep-alive connection,
one request in flight at a time (the way pulse delivers), and report requests/s and MB/s.

The client is a raw socket with a prebuilt request, so the figure is a lower bound on the sink's
ceiling (client and sink share the machine).

    python3 bench/sink_ceiling.py                       # starts its own sink
    python3 bench/sink_ceiling.py --url http://127.0.0.1:8099/ --size 1048576 --count 2000
"""

import argparse
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit


def start_sink():
    sink = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("sink.py")), "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    line = sink.stdout.readline()
    m = re.search(r"http://[\d.]+:\d+/", line)
    if not m:
        sink.kill()
        raise SystemExit(f"sink did not start: {line!r}")
    return sink, m.group(0)


def blast(url: str, size: int, count: int) -> float:
    u = urlsplit(url)
    body = (b'{"data":"' + b"x" * max(0, size - 11) + b'"}')[:size]
    request = (
        f"POST {u.path or '/'} HTTP/1.1\r\nHost: {u.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    sock = socket.create_connection((u.hostname, u.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(4096)
    start = time.perf_counter()
    for _ in range(count):
        sock.sendall(request)
        got = b""
        while not got.endswith(b"\r\n\r\nok"):
            n = sock.recv_into(buf)
            if n == 0:
                raise SystemExit("sink closed the connection")
            got += buf[:n]
    elapsed = time.perf_counter() - start
    sock.close()
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="sink URL (default: start bench/sink.py on a free port)")
    ap.add_argument("--size", type=int, action="append",
                    help="body size in bytes, repeatable (default 1 MiB and 1 KiB)")
    ap.add_argument("--seconds", type=float, default=3.0, help="approximate duration per size")
    args = ap.parse_args()

    sink = None
    url = args.url
    if not url:
        sink, url = start_sink()
    try:
        for size in args.size or [1 << 20, 1024]:
            # calibrate the count on a short burst, then run for about --seconds
            t = blast(url, size, 20)
            count = max(20, min(1_000_000, int(args.seconds / max(t / 20, 1e-6))))
            elapsed = blast(url, size, count)
            print(f"sink ceiling: body {size} B x {count}: {count / elapsed:,.0f} req/s, "
                  f"{count * size / elapsed / 1e6:,.0f} MB/s")
    finally:
        if sink:
            sink.terminate()
            sink.wait(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
