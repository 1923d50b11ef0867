// Issue 14, point 7: a web page the user visits must not drive the default loopback server, neither
// by DNS rebinding (a foreign Host) nor by cross-origin "simple" requests (text/plain, forms).
import { describe, expect, it } from "vitest";
import { createTestServer } from "./support/test-server.js";

const chat = JSON.stringify({ title: "from a web page" });

describe("Host check (DNS rebinding)", () => {
  it("refuses a foreign host name and accepts IP addresses, localhost and --allowed-host names", async () => {
    const { app } = createTestServer();
    const rebound = await app.request("http://attacker.example:8080/api/conversations");
    expect(rebound.status).toBe(403);
    expect((await rebound.json()).error).toMatchObject({ type: "permission_error", message: expect.stringContaining("--allowed-host") });
    for (const url of ["http://127.0.0.1:8080/v1/models", "http://localhost:8080/v1/models", "http://[::1]:8080/v1/models", "http://192.168.1.20:8080/v1/models"]) {
      expect((await app.request(url)).status, url).toBe(200);
    }
    const named = createTestServer({ allowedHosts: ["camelid.lan"] }).app;
    expect((await named.request("http://camelid.lan:8080/v1/models")).status).toBe(200);
    expect((await named.request("http://other.lan:8080/v1/models")).status).toBe(403);
  });
});

describe("cross-origin writes", () => {
  it("a text/plain or form POST (no CORS preflight needed) is refused with 415 and creates nothing", async () => {
    const { app, conversations } = createTestServer();
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const response = await app.request("/api/conversations", { method: "POST", headers: { "content-type": type }, body: chat });
      expect(response.status, type).toBe(415);
      expect((await response.json()).error).toMatchObject({ type: "invalid_request_error", code: "unsupported_media_type" });
    }
    const noType = await app.request("/v1/chat/completions", { method: "POST", body: new Blob([chat]) });
    expect(noType.status).toBe(415);
    expect(conversations.list({ owner: null, seesAll: true })).toEqual([]);
  });

  it("refuses a JSON POST from a foreign Origin (or Sec-Fetch-Site: cross-site) and accepts same-origin and CORS-allowed ones", async () => {
    const { app } = createTestServer({ corsOrigins: ["http://localhost:5173"] });
    const post = (headers: Record<string, string>) =>
      app.request("http://127.0.0.1:8080/api/conversations", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: chat });
    expect((await post({ origin: "https://evil.example" })).status).toBe(403);
    expect((await post({ origin: "null" })).status).toBe(403);
    expect((await post({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    // The playground itself: same origin as the Host it was loaded from.
    expect((await post({ origin: "http://127.0.0.1:8080", "sec-fetch-site": "same-origin" })).status).toBe(201);
    expect((await post({ origin: "http://localhost:5173" })).status).toBe(201);
    // Non-browser clients (curl, SDKs) send no Origin at all.
    expect((await post({})).status).toBe(201);
    // Reads are left to the browser's same-origin policy.
    expect((await app.request("http://127.0.0.1:8080/api/conversations", { headers: { origin: "https://evil.example" } })).status).toBe(200);
  });
});
