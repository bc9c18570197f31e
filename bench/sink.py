#!/usr/bin/env python3
"""A minimal loopback HTTP/1.1 sink for the pulse benchmark.

Reads every request body completely (Content-Length or chunked), throws it away and answers
`200 OK` with keep-alive. One thread per connection, blocking sockets, `recv_into` a reused
buffer with MSG_WAITALL (a megabyte per wake-up): no per-request allocation beyond the header
parse, so it stays far above what the clients under test can send (see bench/README.md for its
measured ceiling, and bench/sink_ceiling.py to measure it again).

    python3 bench/sink.py --port 0        # prints: listening on http://127.0.0.1:PORT/

`GET /stats` answers {"requests": N, "body_bytes": B, "first_ns": T0, "last_ns": T1} (counting
POST/PUT bodies only; T0 when the first request began to arrive, T1 when the last answer went,
monotonic; also "last_arrival_ns", when the last request began to arrive, and "transfer_ns",
the time spent reading requests, summed), so a benchmark can check that everything arrived and time the delivery itself.
`GET /reset` sets them back to zero.

A remote receiver, for bench/run.sh --remote: `--delay MS` answers each request MS after its
body arrived, and `--bandwidth BYTES_PER_S` caps the bytes read per second over all connections
(a shared link: each megabyte read waits for its turn on it).
"""

import argparse
import json
import signal
import socket
import sys
import threading
import time

RESPONSE_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
RESPONSE_OK_CLOSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)
MAX_HEADER = 64 * 1024
RECV_SIZE = 1 << 20

stats_lock = threading.Lock()
stats = {"requests": 0, "body_bytes": 0, "first_ns": 0, "last_ns": 0, "last_arrival_ns": 0,
         "transfer_ns": 0}
DELAY_S = 0.0
BANDWIDTH = 0  # bytes per second over all connections; 0: no cap
link_lock = threading.Lock()
link_free_at = 0.0  # monotonic seconds when the simulated link is free again


def use_link(n: int) -> None:
    """Waits until n bytes could have crossed the capped link, shared by all connections."""
    global link_free_at
    if BANDWIDTH <= 0:
        return
    with link_lock:
        start = max(time.monotonic(), link_free_at)
        link_free_at = start + n / BANDWIDTH
        until = link_free_at
    delay = until - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class ClientGone(Exception):
    pass


class Conn:
    """Buffered reader over a socket: `pending` holds bytes read but not consumed yet."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.pending = bytearray()
        self.buf = bytearray(RECV_SIZE)
        self.view = memoryview(self.buf)

    def read_more(self) -> None:
        n = self.sock.recv_into(self.view)
        if n == 0:
            raise ClientGone
        self.pending += self.view[:n]

    def read_until(self, marker: bytes) -> bytes:
        start = 0
        while True:
            i = self.pending.find(marker, start)
            if i >= 0:
                line = bytes(self.pending[: i + len(marker)])
                del self.pending[: i + len(marker)]
                return line
            if len(self.pending) > MAX_HEADER:
                raise ValueError("header too large")
            start = max(0, len(self.pending) - len(marker) + 1)
            self.read_more()

    def discard(self, n: int) -> None:
        """Read and drop exactly n bytes."""
        take = min(n, len(self.pending))
        del self.pending[:take]
        use_link(take)
        n -= take
        while n > 0:
            # MSG_WAITALL: one wake-up per megabyte, not one per segment that happens to have
            # arrived. A body came in dozens of small reads, each a thread switch on the
            # sender's request/response chain: pulse resend of 2M rows 0.768 -> 0.705 s, the
            # same as a sink written in Rust (0.708 s).
            got = self.sock.recv_into(self.view, min(n, RECV_SIZE), socket.MSG_WAITALL)
            if got == 0:
                raise ClientGone
            use_link(got)
            n -= got


def handle(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = Conn(sock)
    try:
        while True:
            try:
                head = conn.read_until(b"\r\n\r\n")
            except ClientGone:
                return
            arrived_ns = time.monotonic_ns()
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            if headers.get("expect", "").lower() == "100-continue":
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body_len = 0
            if "chunked" in headers.get("transfer-encoding", "").lower():
                while True:
                    size = int(conn.read_until(b"\r\n").split(b";")[0], 16)
                    conn.discard(size + 2)  # data + CRLF
                    body_len += size
                    if size == 0:
                        break  # (no trailers expected)
            else:
                body_len = int(headers.get("content-length", "0"))
                conn.discard(body_len)
            close = headers.get("connection", "").lower() == "close"
            if method == "GET" and target in ("/stats", "/reset"):
                with stats_lock:
                    if target == "/reset":
                        stats.update(requests=0, body_bytes=0, first_ns=0, last_ns=0,
                                     last_arrival_ns=0, transfer_ns=0)
                    body = json.dumps(stats).encode()
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(body)).encode() + b"\r\n\r\n" + body
                )
            else:
                read_ns = time.monotonic_ns() - arrived_ns
                if DELAY_S > 0:
                    time.sleep(DELAY_S)
                with stats_lock:
                    stats["requests"] += 1
                    stats["body_bytes"] += body_len
                    if not stats["first_ns"] or arrived_ns < stats["first_ns"]:
                        stats["first_ns"] = arrived_ns
                    stats["last_arrival_ns"] = max(stats["last_arrival_ns"], arrived_ns)
                    stats["transfer_ns"] += read_ns
                sock.sendall(RESPONSE_OK_CLOSE if close else RESPONSE_OK)
                with stats_lock:
                    stats["last_ns"] = max(stats["last_ns"], time.monotonic_ns())
            if close:
                return
    except (ClientGone, ConnectionError):
        return
    except Exception as e:  # a malformed request: answer 400 and drop the connection
        try:
            sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        print(f"sink: bad request: {e!r}", file=sys.stderr)
    finally:
        sock.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8099, help="0 picks a free port (default 8099)")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--delay", type=float, default=0, help="ms before each answer (a remote receiver)")
    ap.add_argument("--bandwidth", type=float, default=0, help="bytes/s over all connections (0: no cap)")
    args = ap.parse_args()
    global DELAY_S, BANDWIDTH
    DELAY_S, BANDWIDTH = args.delay / 1000, args.bandwidth

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.bind, args.port))
    srv.listen(128)
    host, port = srv.getsockname()
    print(f"listening on http://{host}:{port}/", flush=True)
    try:
        while True:
            sock, _ = srv.accept()
            threading.Thread(target=handle, args=(sock,), daemon=True).start()
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        srv.close()


if __name__ == "__main__":
    sys.exit(main())
