// The request body limit. Hono's bodyLimit reads `c.req.raw.body` first, and on @hono/node-server that builds
// the whole WHATWG Request (undici's Request and Headers, a web stream over the socket) for every request,
// which then also sends the route's body read through web streams instead of the adapter's direct read:
// ~0.4 ms of the event loop per request in `node --cpu-prof` of `camelid serve` under bench/engine-parity.ts.
// A declared length is checked from the header alone; only a body without one (chunked) goes through Hono's
// counting reader, which is what it would have done with it too.
import type { MiddlewareHandler } from "hono";
import { bodyLimit as countingBodyLimit } from "hono/body-limit";
import { RequestTooLargeError } from "./http-errors.js";

export function bodyLimit(maxSize: number): MiddlewareHandler {
  const counting = countingBodyLimit({
    maxSize,
    onError: () => {
      throw new RequestTooLargeError(maxSize);
    },
  });
  return async (c, next) => {
    const method = c.req.method;
    // Bodiless methods: Hono's middleware lets them through (their body is null) whatever they declare.
    if (method === "GET" || method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
      if (parseInt(length, 10) > maxSize) throw new RequestTooLargeError(maxSize);
      return next();
    }
    return counting(c, next);
  };
}
