"""A webhook receiver for pulse in plain Python (3.9+): it undoes Content-Encoding (gzip, and
zstd with `pip install zstandard`), verifies the Standard Webhooks signature over the decoded
body, and appends the rows to a file. The tests run it against `pulse push --compress`.

    PULSE_SECRET=whsec_... python3 receiver.py PORT ROWS_FILE
"""

import base64
import gzip
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = base64.b64decode(os.environ["PULSE_SECRET"].removeprefix("whsec_"))


def decoded(body, encoding):
    """The body as the application sees it: what pulse signed."""
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "zstd":
        import zstandard  # pip install zstandard

        return zstandard.decompress(body)
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def authentic(headers, body):
    """HMAC-SHA256 over `id.timestamp.body`, compared in constant time; 5 minutes of skew."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > 300:
        return False
    mac = hmac.new(SECRET, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256)
    expected = "v1," + base64.b64encode(mac.digest()).decode()
    return any(hmac.compare_digest(expected, sig) for sig in headers["webhook-signature"].split())


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            body = decoded(raw, self.headers.get("Content-Encoding", ""))
        except Exception:  # an encoding we cannot undo
            return self.answer(415)
        if not authentic(self.headers, body):
            return self.answer(401)
        with open(sys.argv[2], "a") as out:
            for row in json.loads(body)["data"]:
                out.write(json.dumps(row) + "\n")
        self.answer(204)

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
