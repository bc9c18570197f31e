// A webhook receiver for pulse in plain Node.js (18+): it undoes Content-Encoding (gzip; zstd
// where node:zlib has it, Node 22.15+), verifies the Standard Webhooks signature over the
// decoded body, and appends the rows to a file. The tests run it against `pulse push --compress`.
//
//     PULSE_SECRET=whsec_... node receiver.mjs PORT ROWS_FILE
import { createHmac, timingSafeEqual } from "node:crypto";
import { appendFileSync } from "node:fs";
import { createServer } from "node:http";
import zlib from "node:zlib";

const secret = Buffer.from(process.env.PULSE_SECRET.replace(/^whsec_/, ""), "base64");
const [port, rowsFile] = process.argv.slice(2);

// The body as the application sees it: what pulse signed.
function decoded(body, encoding = "identity") {
  if (encoding === "identity") return body;
  if (encoding === "gzip") return zlib.gunzipSync(body);
  if (encoding === "zstd" && zlib.zstdDecompressSync) return zlib.zstdDecompressSync(body);
  throw new Error(`unsupported Content-Encoding ${encoding}`);
}

// HMAC-SHA256 over `id.timestamp.body`, compared in constant time; 5 minutes of skew.
function authentic(headers, body) {
  const id = headers["webhook-id"];
  const stamp = headers["webhook-timestamp"];
  if (Math.abs(Date.now() / 1000 - Number(stamp)) > 300) return false;
  const mac = createHmac("sha256", secret).update(`${id}.${stamp}.`).update(body).digest("base64");
  const expected = Buffer.from(`v1,${mac}`);
  return (headers["webhook-signature"] ?? "").split(" ").some((sig) => {
    const given = Buffer.from(sig);
    return given.length === expected.length && timingSafeEqual(given, expected);
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
