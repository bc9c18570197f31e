// A webhook receiver for pulse in plain Node.js (18+): it undoes Content-Encoding (gzip; zstd
// where node:zlib has it, Node 22.15+), verifies the Standard Webhooks signature over the
// decoded body, and appends the rows to a file. The tests run it against `pulse push --compress`,
// and against pushes signed with a whsk_ key (v1a, Ed25519).
//
//     PULSE_SECRET=whsec_... node receiver.mjs PORT ROWS_FILE        # v1 (HMAC-SHA256)
//     PULSE_PUBLIC_KEY=whpk_... node receiver.mjs PORT ROWS_FILE     # v1a (Ed25519)
//
// Either or both may be set: a request is authentic when any of its signatures checks out.
import { createHmac, createPublicKey, timingSafeEqual, verify } from "node:crypto";
import { appendFileSync } from "node:fs";
import { createServer } from "node:http";
import zlib from "node:zlib";

const secret = process.env.PULSE_SECRET
  ? Buffer.from(process.env.PULSE_SECRET.replace(/^whsec_/, ""), "base64")
  : null;
// whpk_ and the base64 of the 32-byte public key, as a JWK (Node 16+).
const publicKey = process.env.PULSE_PUBLIC_KEY
  ? createPublicKey({
      key: {
        kty: "OKP",
        crv: "Ed25519",
        x: Buffer.from(process.env.PULSE_PUBLIC_KEY.replace(/^whpk_/, ""), "base64").toString("base64url"),
      },
      format: "jwk",
    })
  : null;
const [port, rowsFile] = process.argv.slice(2);

// The body as the application sees it: what pulse signed.
function decoded(body, encoding = "identity") {
  if (encoding === "identity") return body;
  if (encoding === "gzip") return zlib.gunzipSync(body);
  if (encoding === "zstd" && zlib.zstdDecompressSync) return zlib.zstdDecompressSync(body);
  throw new Error(`unsupported Content-Encoding ${encoding}`);
}

// Any signature good: `v1,` HMAC-SHA256 over `id.timestamp.body`, compared in constant time, or
// `v1a,` Ed25519 over the same; 5 minutes of skew.
function authentic(headers, body) {
  const id = headers["webhook-id"];
  const stamp = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(stamp)) > 300) return false;
  const signed = Buffer.concat([Buffer.from(`${id}.${stamp}.`), body]);
  return (headers["webhook-signature"] ?? "").split(" ").some((sig) => {
    const [version, value = ""] = sig.split(",");
    if (version === "v1" && secret) {
      const expected = Buffer.from(createHmac("sha256", secret).update(signed).digest("base64"));
      const given = Buffer.from(value);
      return given.length === expected.length && timingSafeEqual(given, expected);
    }
    if (version === "v1a" && publicKey) {
      return verify(null, signed, publicKey, Buffer.from(value, "base64"));
    }
    return false;
  });
}

createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    let body;
    try {
      body = decoded(Buffer.concat(chunks), req.headers["content-encoding"]);
    } catch {
      return res.writeHead(415).end();
    }
    if (!authentic(req.headers, body)) return res.writeHead(401).end();
    for (const row of JSON.parse(body).data) appendFileSync(rowsFile, JSON.stringify(row) + "\n");
    res.writeHead(204).end();
  });
}).listen(Number(port), "127.0.0.1");
