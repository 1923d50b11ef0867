import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import type { Hono } from "hono";
import { ConfigError } from "../errors/index.js";

export interface ListeningServer {
  /** e.g. "http://127.0.0.1:8080" */
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** The peer address @hono/node-server exposes as `env.incoming`; used for fair queueing without keys. */
export function nodePeerAddress(_request: Request, env: unknown): string | undefined {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress;
}

export interface ListenOptions {
  host: string;
  port: number;
  /**
   * A client must have sent its whole request (headers and body) within this time, else Node answers
   * 408 and closes the connection: half-sent bodies cannot hold sockets and memory forever. It ends
   * once the request is received, so it never cuts a long generation (default 30 s).
   */
  requestTimeoutMs?: number;
  /** How often Node checks those deadlines (default: a tenth of the timeout, 1 s at most). */
  timeoutCheckIntervalMs?: number;
}

/** Binds the app to host:port (port 0 picks a free one) and resolves once it accepts connections. */
export function listen(app: Hono<any>, options: ListenOptions): Promise<ListeningServer> {
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const server = createAdaptorServer({
    fetch: app.fetch,
    hostname: options.host,
    port: options.port,
    serverOptions: {
      requestTimeout,
      headersTimeout: Math.min(requestTimeout, 60_000),
      connectionsCheckingInterval: options.timeoutCheckIntervalMs ?? Math.max(1, Math.min(1_000, Math.floor(requestTimeout / 10))),
    },
  }) as Server;
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new ConfigError(`port ${options.port} on ${options.host} is already in use (--port / "port")`)
          : error.code === "EADDRNOTAVAIL"
            ? new ConfigError(`cannot bind to host "${options.host}" (--host / "host"): ${error.message}`)
            : error,
      );
    });
    server.listen(options.port, options.host, () => {
      const address = server.address() as AddressInfo;
      const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
      resolve({
        url: `http://${hostForUrl}:${address.port}`,
        host: address.address,
        port: address.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
