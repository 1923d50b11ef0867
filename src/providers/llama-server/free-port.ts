import { createServer } from "node:net";

/**
 * A TCP port free on `host` right now, chosen by the kernel. Another process may take it before
 * llama-server binds it; the caller retries with a new one when the bind fails.
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error(`no free port on ${host}`))));
    });
  });
}
