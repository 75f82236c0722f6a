import { connect } from "node:net";

/** A request a client should never send, and the 4xx the service must answer it with. */
export interface MalformedRequest {
  name: string;
  method: "GET" | "POST" | "PUT" | "DELETE" | "TRACE" | "OPTIONS" | "PATCH";
  url: string;
  payload?: string;
  headers?: Record<string, string>;
  status: number;
  error: string;
}

const JSON_TYPE = { "content-type": "application/json" };
const predict = (
  name: string,
  payload: string,
  status: number,
  error: string,
  headers: Record<string, string> = JSON_TYPE,
): MalformedRequest => ({
  name,
  method: "POST",
  url: "/predict",
  payload,
  headers,
  status,
  error,
});
const batch = (
  name: string,
  payload: string,
  status = 422,
  error = "invalid_request",
): MalformedRequest => ({
  name,
  method: "POST",
  url: "/predict/batch",
  payload,
  headers: JSON_TYPE,
  status,
  error,
});
const get = (
  name: string,
  url: string,
  status: number,
  error: string,
): MalformedRequest => ({ name, method: "GET", url, status, error });
/** A known path asked with a method it does not take: 405 method_not_allowed, with an Allow header. */
const wrongMethod = (
  method: MalformedRequest["method"],
  url: string,
): MalformedRequest => ({
  name: `${method} ${url}`,
  method,
  url,
  status: 405,
  error: "method_not_allowed",
});

/** What the Allow header of a 405 lists, per path. */
export const ALLOWED_METHODS: Record<string, string> = {
  "/predict": "POST",
  "/predict/batch": "POST",
  "/health": "GET, HEAD",
  "/ready": "GET, HEAD",
  "/features/7590-VHVEG": "GET, HEAD",
};

export const MALFORMED_REQUESTS: MalformedRequest[] = [
  predict("truncated JSON", '{"user_id":', 400, "malformed_json"),
  predict("missing value", '{"user_id": }', 400, "malformed_json"),
  predict("trailing comma", '{"user_id":"a",}', 400, "malformed_json"),
  predict("single quotes", "{'user_id':'a'}", 400, "malformed_json"),
  predict("empty body", "", 400, "malformed_json"),
  predict(
    "__proto__ key",
    '{"__proto__":{"polluted":true},"user_id":"a"}',
    400,
    "malformed_json",
  ),
  predict(
    "constructor.prototype key",
    '{"constructor":{"prototype":{"polluted":true}},"user_id":"a"}',
    400,
    "malformed_json",
  ),
  predict("JSON null", "null", 422, "invalid_request"),
  predict("JSON array", '["7590-VHVEG"]', 422, "invalid_request"),
  predict("JSON string", '"7590-VHVEG"', 422, "invalid_request"),
  predict("JSON number", "123", 422, "invalid_request"),
  predict("empty object", "{}", 422, "invalid_request"),
  predict("id is a number", '{"user_id":123}', 422, "invalid_request"),
  predict("id is null", '{"user_id":null}', 422, "invalid_request"),
  predict("id is a boolean", '{"user_id":true}', 422, "invalid_request"),
  predict("id is an array", '{"user_id":["a"]}', 422, "invalid_request"),
  predict(
    "id is an operator object",
    '{"user_id":{"$ne":""}}',
    422,
    "invalid_request",
  ),
  predict("id is infinite", '{"user_id":1e999}', 422, "invalid_request"),
  predict("empty id", '{"user_id":""}', 422, "invalid_request"),
  predict(
    "65-character id",
    JSON.stringify({ user_id: "x".repeat(65) }),
    422,
    "invalid_request",
  ),
  predict(
    "100,000-character id",
    JSON.stringify({ user_id: "x".repeat(100_000) }),
    422,
    "invalid_request",
  ),
  predict(
    "extra field",
    '{"user_id":"a","features":{}}',
    422,
    "invalid_request",
  ),
  predict("NUL in the id", '{"user_id":"a\\u0000b"}', 422, "invalid_request"),
  predict("newline in the id", '{"user_id":"a\\nb"}', 422, "invalid_request"),
  predict(
    "deeply nested",
    `{"user_id":${"[".repeat(5000)}${"]".repeat(5000)}}`,
    422,
    "invalid_request",
  ),
  predict(
    "SQL fragment as id",
    JSON.stringify({ user_id: "'; DROP TABLE online_user_features; --" }),
    404,
    "user_not_found",
  ),
  predict(
    "SQL tautology as id",
    JSON.stringify({ user_id: "x' OR '1'='1" }),
    404,
    "user_not_found",
  ),
  predict(
    "unicode id",
    JSON.stringify({ user_id: "用户-☃-🙂" }),
    404,
    "user_not_found",
  ),
  predict("lone surrogate id", '{"user_id":"\\ud800"}', 404, "user_not_found"),
  predict(
    "no content type",
    '{"user_id":"a"}',
    415,
    "unsupported_media_type",
    {},
  ),
  predict("text/plain", '{"user_id":"a"}', 415, "unsupported_media_type", {
    "content-type": "text/plain",
  }),
  predict("form-encoded", "user_id=a", 415, "unsupported_media_type", {
    "content-type": "application/x-www-form-urlencoded",
  }),
  predict(
    "body over the limit",
    JSON.stringify({ user_id: "a", pad: "x".repeat(300 * 1024) }),
    413,
    "payload_too_large",
  ),
  batch("empty id list", '{"user_ids":[]}'),
  batch("id list is a string", '{"user_ids":"a"}'),
  batch("ids are numbers", '{"user_ids":[1,2]}'),
  batch("a null id", '{"user_ids":["a",null]}'),
  batch("single-user body on the batch route", '{"user_id":"a"}'),
  batch(
    "1,001 ids",
    JSON.stringify({
      user_ids: Array.from({ length: 1001 }, (_, i) => `u${i}`),
    }),
  ),
  batch("batch body not JSON", "[1,", 400, "malformed_json"),
  batch(
    "100,000 wrong-typed ids (a big error report, if every error were listed)",
    JSON.stringify({ user_ids: Array.from({ length: 100_000 }, () => 1) }),
  ),
  wrongMethod("GET", "/predict"),
  wrongMethod("TRACE", "/predict"),
  wrongMethod("DELETE", "/predict"),
  wrongMethod("PUT", "/predict/batch"),
  wrongMethod("TRACE", "/health"),
  wrongMethod("POST", "/ready"),
  wrongMethod("DELETE", "/features/7590-VHVEG"),
  wrongMethod("OPTIONS", "/predict"),
  get("unknown route", "/predictions", 404, "not_found"),
  {
    name: "TRACE on an unknown route",
    method: "TRACE",
    url: "/predictions",
    status: 404,
    error: "not_found",
  },
  get("encoded NUL in the path id", "/features/a%00b", 422, "invalid_request"),
  get(
    "200-character path id",
    `/features/${"x".repeat(200)}`,
    422,
    "invalid_request",
  ),
  get(
    "1,025-character path id",
    `/features/${"x".repeat(1025)}`,
    422,
    "invalid_request",
  ),
  get(
    "10,000-character path id",
    `/features/${"x".repeat(10_000)}`,
    422,
    "invalid_request",
  ),
  get("malformed percent-encoding", "/features/%E0%A4%A", 400, "bad_request"),
];

/** Requests with broken HTTP framing, sent over a raw socket, and the answer's status and `error`. */
export const RAW_MALFORMED_REQUESTS: {
  name: string;
  raw: string;
  status: number;
  error: string;
}[] = [
  {
    name: "garbage request line",
    raw: "HELLO\r\n\r\n",
    status: 400,
    error: "bad_request",
  },
  {
    name: "non-numeric Content-Length",
    raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{"user_id":"a"}',
    status: 400,
    error: "bad_request",
  },
  {
    name: "negative Content-Length",
    raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{"user_id":"a"}',
    status: 400,
    error: "bad_request",
  },
  {
    name: "two different Content-Lengths",
    raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\nContent-Length: 16\r\n\r\n{"user_id":"a"}',
    status: 400,
    error: "bad_request",
  },
  {
    name: "Content-Length and chunked together",
    raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 15\r\nTransfer-Encoding: chunked\r\n\r\nf\r\n{"user_id":"a"}\r\n0\r\n\r\n',
    status: 400,
    error: "bad_request",
  },
  {
    name: "invalid chunk size",
    raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{"user_id":"a"}\r\n0\r\n\r\n',
    status: 400,
    error: "bad_request",
  },
  {
    name: "unknown transfer coding",
    raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: bogus\r\n\r\n{"user_id":"a"}',
    status: 400,
    error: "bad_request",
  },
  // The bytes past the declared length are parsed as the next request, a broken one; the
  // connection is closed with 400 before the first (truncated JSON) is answered.
  {
    name: "Content-Length shorter than the body",
    raw: 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{"user_id":"a"}',
    status: 400,
    error: "bad_request",
  },
  {
    name: "64 KiB header",
    raw: `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(64 * 1024)}\r\n\r\n`,
    status: 431,
    error: "headers_too_large",
  },
  {
    name: "Expect: bogus",
    raw: "GET /health HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\n\r\n",
    status: 417,
    error: "expectation_failed",
  },
  {
    name: "TRACE over the wire",
    raw: "TRACE /predict HTTP/1.1\r\nHost: x\r\n\r\n",
    status: 405,
    error: "method_not_allowed",
  },
];

export interface RawAnswer {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes and returns the first response: its status, headers and body (Content-Length framed). */
export function sendRaw(baseUrl: string, raw: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let received = "";
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(
        new Error(`no answer within 5 s; got ${JSON.stringify(received)}`),
      );
    });
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [statusLine, ...lines] = received.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines)
        headers[line.slice(0, line.indexOf(":")).toLowerCase()] = line
          .slice(line.indexOf(":") + 1)
          .trim();
      const length = Number(headers["content-length"] ?? 0);
      const body = Buffer.from(received.slice(end + 4), "latin1");
      if (body.length < length) return;
      socket.destroy();
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? "")?.[1] ?? 0),
        headers,
        body: body.subarray(0, length).toString("utf8"),
      });
    });
    socket.on("close", () =>
      reject(
        new Error(
          `connection closed without a status line; got ${JSON.stringify(received)}`,
        ),
      ),
    );
    socket.write(raw);
  });
}
