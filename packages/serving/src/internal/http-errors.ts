/**
 * Answers for requests that never reach a route: broken HTTP framing (Node's `clientError`), an
 * unsupported `Expect` header (Node's `checkExpectation`), and a known path asked with a method it
 * does not take (405). Each is the documented `{error, message}` JSON body.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

interface Framing {
  status: number;
  error: string;
  message: string;
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  413: "Payload Too Large",
  431: "Request Header Fields Too Large",
};

/** llhttp's and Node's codes for the faults a client can cause, in words a client can act on. */
function describeFraming(code: string | undefined): Framing {
  switch (code ?? "") {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return {
        status: 408,
        error: "request_timeout",
        message:
          "the request was not received in time; send it whole and promptly",
      };
    case "HPE_HEADER_OVERFLOW":
      return {
        status: 431,
        error: "headers_too_large",
        message:
          "the request line and headers are over the server's limit (16 KiB together)",
      };
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return {
        status: 400,
        error: "bad_request",
        message:
          "Content-Length is invalid (not a number, repeated, or sent with Transfer-Encoding)",
      };
    case "HPE_INVALID_CHUNK_SIZE":
    case "HPE_INVALID_TRANSFER_ENCODING":
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return {
        status: 400,
        error: "bad_request",
        message: "the chunked body is malformed",
      };
    default:
      return {
        status: 400,
        error: "bad_request",
        message: `malformed HTTP request${code === undefined ? "" : ` (${code})`}`,
      };
  }
}

/**
 * Fastify's `clientErrorHandler`: writes a JSON error and closes the connection. Nothing is written
 * when the connection is gone, or when a response on it has already started (its bytes would be
 * mixed in).
 */
export function answerClientError(
  error: Error & { code?: string },
  socket: Duplex,
): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  // Node keeps the response in progress on the socket; its own handler checks the same.
  const current = (
    socket as Duplex & { _httpMessage?: { headersSent?: boolean } }
  )._httpMessage;
  if (socket.writable && current?.headersSent !== true) {
    const { status, error: code, message } = describeFraming(error.code);
    const body = JSON.stringify({ error: code, message });
    socket.write(
      `HTTP/1.1 ${status} ${REASONS[status] ?? "Bad Request"}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** `checkExpectation`: an `Expect` other than 100-continue is refused with 417 and a JSON body. */
export function answerExpectation(
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const body = JSON.stringify({
    error: "expectation_failed",
    message: `Expect: ${request.headers.expect ?? ""} is not supported; send no Expect header, or Expect: 100-continue`,
  });
  response.writeHead(417, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
    Connection: "close",
  });
  response.end(body);
}

/** The methods each route path takes, to tell "wrong method" (405) from "no such path" (404). */
export class RouteMethods {
  readonly #routes: { pattern: RegExp; methods: Set<string> }[] = [];

  add(method: string | string[], url: string): void {
    const methods = Array.isArray(method) ? method : [method];
    // A `:param` segment matches any one non-empty segment, as in the router.
    const source = url
      .split("/")
      .map((segment) =>
        segment.startsWith(":")
          ? "[^/]+"
          : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"),
      )
      .join("/");
    const existing = this.#routes.find(
      (r) => r.pattern.source === `^${source}$`,
    );
    if (existing === undefined)
      this.#routes.push({
        pattern: new RegExp(`^${source}$`),
        methods: new Set(methods),
      });
    else for (const m of methods) existing.methods.add(m);
  }

  /** The methods the path takes, sorted; empty for an unknown path. */
  allowedAt(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.#routes)
      if (route.pattern.test(path))
        for (const m of route.methods) methods.add(m);
    return [...methods].sort();
  }
}
