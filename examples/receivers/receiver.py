"""A webhook receiver for pulse in plain Python (3.9+): it undoes Content-Encoding (gzip, and
zstd with `pip install zstandard`), verifies the Standard Webhooks signature over the decoded
body, and appends the rows to a file. The tests run it against `pulse push --compress`, and
against pushes signed with a whsk_ key (v1a, Ed25519: `pip install cryptography`).

    PULSE_SECRET=whsec_... python3 receiver.py PORT ROWS_FILE         # v1 (HMAC-SHA256)
    PULSE_PUBLIC_KEY=whpk_... python3 receiver.py PORT ROWS_FILE      # v1a (Ed25519)

Either or both may be set: a request is authentic when any of its signatures checks out.
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

SECRET = os.environ.get("PULSE_SECRET")
SECRET = base64.b64decode(SECRET.removeprefix("whsec_")) if SECRET else None
PUBLIC_KEY = os.environ.get("PULSE_PUBLIC_KEY")
if PUBLIC_KEY:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    # whpk_ and the base64 of the 32-byte public key.
    PUBLIC_KEY = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(PUBLIC_KEY.removeprefix("whpk_"))
    )


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
    """Any signature good: `v1,` HMAC-SHA256 over `id.timestamp.body`, compared in constant
    time, or `v1a,` Ed25519 over the same; 5 minutes of skew."""
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > 300:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + body
    for sig in headers.get("webhook-signature", "").split():
        version, _, value = sig.partition(",")
        if version == "v1" and SECRET:
            mac = hmac.new(SECRET, signed, hashlib.sha256)
            if hmac.compare_digest(base64.b64encode(mac.digest()).decode(), value):
                return True
        if version == "v1a" and PUBLIC_KEY:
            try:
                PUBLIC_KEY.verify(base64.b64decode(value), signed)
                return True
            except Exception:  # InvalidSignature, or not base64
                pass
    return False


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
