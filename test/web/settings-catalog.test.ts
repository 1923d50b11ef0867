import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/shared-data.js";
import { loadWebModule } from "./support/web-modules.js";

interface SettingsCatalog {
  samplingLimits(): Promise<unknown>;
  promptFormats(): Promise<unknown>;
}
interface SettingsCatalogModule {
  createSettingsCatalog(read: (path: string) => Promise<unknown>): SettingsCatalog;
}

const { createSettingsCatalog } = await loadWebModule<SettingsCatalogModule>("settings-catalog.js");

/** A fake server read that counts its calls per path; each answer is released by the test. */
function countingRead() {
  const calls: string[] = [];
  const pending: { resolve(value: unknown): void; reject(error: unknown): void }[] = [];
  const read = (path: string) => {
    calls.push(path);
    return new Promise<unknown>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { read, calls, pending };
}

describe("settings catalog (state owned by the catalog the app makes, not by the module)", () => {
  it("reads the sampling bounds once per catalog, again after a failed read, and not for another catalog's sake", async () => {
    const server = countingRead();
    const catalog = createSettingsCatalog(server.read);
    const first = catalog.samplingLimits();
    expect(catalog.samplingLimits()).toBe(first);
    server.pending[0].reject(new Error("offline"));
    await expect(first).rejects.toThrow("offline");
    const retried = catalog.samplingLimits();
    server.pending[1].resolve({ fields: {} });
    await expect(retried).resolves.toEqual({ fields: {} });
    await catalog.samplingLimits();
    expect(server.calls).toEqual(["/api/sampling-limits", "/api/sampling-limits"]);

    // A second catalog (another page, another test) has its own state: it reads for itself.
    const other = countingRead();
    const second = createSettingsCatalog(other.read).samplingLimits();
    expect(other.calls).toEqual(["/api/sampling-limits"]);
    other.pending[0].resolve({ fields: { top_k: {} } });
    await expect(second).resolves.toEqual({ fields: { top_k: {} } });
  });

  it("shares one prompt-format read among concurrent callers and reads afresh once it has settled", async () => {
    const server = countingRead();
    const catalog = createSettingsCatalog(server.read);
    const a = catalog.promptFormats();
    expect(catalog.promptFormats()).toBe(a);
    server.pending[0].resolve({ data: [], models: [] });
    await a;
    const b = catalog.promptFormats();
    server.pending[1].resolve({ data: [], models: [{ id: "m" }] });
    await expect(b).resolves.toEqual({ data: [], models: [{ id: "m" }] });
    expect(server.calls).toEqual(["/api/prompt-formats", "/api/prompt-formats"]);
  });

  it("no playground module keeps mutable state at module level", () => {
    const dir = `${repoRoot}/web/js`;
    const offenders = readdirSync(dir)
      .filter((name) => name.endsWith(".js"))
      .flatMap((name) => readFileSync(`${dir}/${name}`, "utf8").split("\n").filter((line) => /^(let|var) /.test(line)).map((line) => `${name}: ${line}`));
    expect(offenders).toEqual([]);
  });
});
