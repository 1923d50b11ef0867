import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { loopbackFetch } from "../../../src/providers/llama-server/loopback-fetch.js";
import { freePort } from "../../../src/providers/llama-server/free-port.js";

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((done) => server.close(done));
});

function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`)));
}

describe("loopbackFetch (the llama-server engine's HTTP client)", () => {
  it("sends the method, headers and body, and answers with the status, headers and body as fetch does", async () => {
    const url = await serve((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        response.writeHead(201, { "content-type": "application/json", "x-seen": `${request.method} ${request.headers["x-key"]} ${request.headers["content-length"]}` });
        response.end(JSON.stringify({ echoed: body }));
      });
    });
    const response = await loopbackFetch(`${url}/path`, { method: "POST", headers: { "x-key": "k", "content-type": "application/json" }, body: '{"a":"é"}' });
    expect(response.status).toBe(201);
    expect(response.headers.get("x-seen")).toBe("POST k 10");
    expect(await response.json()).toEqual({ echoed: '{"a":"é"}' });
  });

  it("streams the body as it comes, and an abort mid-body ends both the read and the connection", async () => {
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const url = await serve((_request, response) => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      response.write("data: one\n\n");
      response.on("close", closed);
    });
    const controller = new AbortController();
    const response = await loopbackFetch(url, { method: "GET", signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: one\n\n");
    controller.abort(new Error("client left"));
    await expect(reader.read()).rejects.toThrow();
    await connectionClosed;
  });

  it("fails as fetch does: a refused connection is a TypeError with the cause's code; an aborted request rejects with the reason", async () => {
    const port = await freePort();
    const failure = await loopbackFetch(`http://127.0.0.1:${port}/`, { method: "GET" }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TypeError);
    expect((failure as TypeError & { cause: { code: string } }).cause.code).toBe("ECONNREFUSED");
    const reason = new Error("stop");
    await expect(loopbackFetch(`http://127.0.0.1:${port}/`, { method: "GET", signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});
