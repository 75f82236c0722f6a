import { connect } from "node:net";

/** A request a client should never send, and the 4xx the service must answer it with. */
export interface MalformedRequest {
  name: string;
  method: "GET" | "POST";
  url: string;
  payload?: string;
  headers?: Record<string, string>;
  status: number;
  error: string;
}

const JSON_TYPE = { "content-type": "application/json" };
const predict = (name: string, payload: string, status: number, error: string, headers: Record<string, string> = JSON_TYPE): MalformedRequest => ({
  name,
  method: "POST",
  url: "/predict",
  payload,
  headers,
  status,
  error,
});
const batch = (name: string, payload: string, status = 422, error = "invalid_request"): MalformedRequest => ({
  name,
  method: "POST",
  url: "/predict/batch",
  payload,
  headers: JSON_TYPE,
  status,
  error,
});
const get = (name: string, url: string, status: number, error: string): MalformedRequest => ({ name, method: "GET", url, status, error });

export const MALFORMED_REQUESTS: MalformedRequest[] = [
  predict("truncated JSON", '{"user_id":', 400, "malformed_json"),
  predict("missing value", '{"user_id": }', 400, "malformed_json"),
  predict("trailing comma", '{"user_id":"a",}', 400, "malformed_json"),
  predict("single quotes", "{'user_id':'a'}", 400, "malformed_json"),
  predict("empty body", "", 400, "malformed_json"),
  predict("__proto__ key", '{"__proto__":{"polluted":true},"user_id":"a"}', 400, "malformed_json"),
  predict("constructor.prototype key", '{"constructor":{"prototype":{"polluted":true}},"user_id":"a"}', 400, "malformed_json"),
  predict("JSON null", "null", 422, "invalid_request"),
  predict("JSON array", '["7590-VHVEG"]', 422, "invalid_request"),
  predict("JSON string", '"7590-VHVEG"', 422, "invalid_request"),
  predict("JSON number", "123", 422, "invalid_request"),
  predict("empty object", "{}", 422, "invalid_request"),
  predict("id is a number", '{"user_id":123}', 422, "invalid_request"),
  predict("id is null", '{"user_id":null}', 422, "invalid_request"),
  predict("id is a boolean", '{"user_id":true}', 422, "invalid_request"),
  predict("id is an array", '{"user_id":["a"]}', 422, "invalid_request"),
  predict("id is an operator object", '{"user_id":{"$ne":""}}', 422, "invalid_request"),
  predict("id is infinite", '{"user_id":1e999}', 422, "invalid_request"),
  predict("empty id", '{"user_id":""}', 422, "invalid_request"),
  predict("65-character id", JSON.stringify({ user_id: "x".repeat(65) }), 422, "invalid_request"),
  predict("100,000-character id", JSON.stringify({ user_id: "x".repeat(100_000) }), 422, "invalid_request"),
  predict("extra field", '{"user_id":"a","features":{}}', 422, "invalid_request"),
  predict("NUL in the id", '{"user_id":"a\\u0000b"}', 422, "invalid_request"),
  predict("newline in the id", '{"user_id":"a\\nb"}', 422, "invalid_request"),
  predict("deeply nested", `{"user_id":${"[".repeat(5000)}${"]".repeat(5000)}}`, 422, "invalid_request"),
  predict("SQL fragment as id", JSON.stringify({ user_id: "'; DROP TABLE online_user_features; --" }), 404, "user_not_found"),
  predict("SQL tautology as id", JSON.stringify({ user_id: "x' OR '1'='1" }), 404, "user_not_found"),
  predict("unicode id", JSON.stringify({ user_id: "用户-☃-🙂" }), 404, "user_not_found"),
  predict("lone surrogate id", '{"user_id":"\\ud800"}', 404, "user_not_found"),
  predict("no content type", '{"user_id":"a"}', 415, "unsupported_media_type", {}),
  predict("text/plain", '{"user_id":"a"}', 415, "unsupported_media_type", { "content-type": "text/plain" }),
  predict("form-encoded", "user_id=a", 415, "unsupported_media_type", { "content-type": "application/x-www-form-urlencoded" }),
  predict("body over the limit", JSON.stringify({ user_id: "a", pad: "x".repeat(300 * 1024) }), 413, "payload_too_large"),
  batch("empty id list", '{"user_ids":[]}'),
  batch("id list is a string", '{"user_ids":"a"}'),
  batch("ids are numbers", '{"user_ids":[1,2]}'),
  batch("a null id", '{"user_ids":["a",null]}'),
  batch("single-user body on the batch route", '{"user_id":"a"}'),
  batch("1,001 ids", JSON.stringify({ user_ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) })),
  batch("batch body not JSON", "[1,", 400, "malformed_json"),
  batch("100,000 wrong-typed ids (a big error report, if every error were listed)", JSON.stringify({ user_ids: Array.from({ length: 100_000 }, () => 1) })),
  get("GET on a POST route", "/predict", 404, "not_found"),
  get("unknown route", "/predictions", 404, "not_found"),
  get("encoded NUL in the path id", "/features/a%00b", 422, "invalid_request"),
  get("200-character path id", `/features/${"x".repeat(200)}`, 422, "invalid_request"),
  get("malformed percent-encoding", "/features/%E0%A4%A", 400, "bad_request"),
];

/** Requests with broken HTTP framing, sent over a raw socket. */
export const RAW_MALFORMED_REQUESTS: { name: string; raw: string }[] = [
  { name: "garbage request line", raw: "HELLO\r\n\r\n" },
  { name: "non-numeric Content-Length", raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{"user_id":"a"}' },
  {
    name: "Content-Length and chunked together",
    raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n{"user_id":"a"}\r\n0\r\n\r\n',
  },
  { name: "Content-Length shorter than the body", raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"user_id":"a"}' },
  { name: "64 KiB header", raw: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n` },
];

/** Sends raw bytes and returns the status code of the first response line. */
export function sendRaw(baseUrl: string, raw: string): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let received = "";
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer within 5 s; got ${JSON.stringify(received)}`));
    });
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (match) {
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.on("close", () => reject(new Error(`connection closed without a status line; got ${JSON.stringify(received)}`)));
    socket.write(raw);
  });
}
