// Corrupt GGUF files through `generate` and `serve`: every one ends with a clean, typed error naming
// the problem, or a valid run, within a time bound; one bad model never blocks the others. Hundreds of
// seeded mutants go through camelid's checks in-process; a seeded subset and the files from the issue that used
// to hang node-llama-cpp (memory growing without bound) go through the real CLI paths.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../../src/cli/main.js";
import { GgufFormatError, ModelLoadError } from "../../../src/errors/index.js";
import { checkModelHeader } from "../../../src/gguf/model-check.js";
import { parseGgufBytes } from "../../../src/gguf/reader.js";
import { seededRandom } from "../../../src/random/seeded-random.js";
import { captureIo } from "../../support/capture-io.js";
import { makeSeed, mutate } from "../../support/gguf-mutations.js";
import { stories260KPath } from "../../support/shared-data.js";
import { serveInProcess } from "../../support/serve-in-process.js";

const original = new Uint8Array(readFileSync(stories260KPath()));
let dir: string;

/**
 * The files from the issue, each of which hung node-llama-cpp 3.22.1 with memory growing (or, the last,
 * threw a raw RangeError): 187 bytes deleted at 14114 (a huge n_dims), and one flipped byte in the
 * first tensor-name length (17 becomes 65553, 1 or 273).
 */
function namedRepros(): { name: string; bytes: Uint8Array }[] {
  const deleted = new Uint8Array(original.byteLength - 187);
  deleted.set(original.subarray(0, 14114));
  deleted.set(original.subarray(14114 + 187), 14114);
  const nameLengthAt = Buffer.from(original).indexOf("token_embd.weight") - 8;
  const flipped = (byte: number, bit: number) => {
    const bytes = original.slice();
    bytes[nameLengthAt + byte] ^= 1 << bit;
    return { name: `tensor-name-length-byte-${byte}-bit-${bit}`, bytes };
  };
  return [{ name: "deleted-187-at-14114", bytes: deleted }, flipped(2, 0), flipped(0, 4), flipped(1, 0)];
}

/** Calls `use` with each of `count` seeded mutants (the bytes are valid only during the call). */
async function forEachMutant(count: number, seedNumber: number, use: (name: string, bytes: Uint8Array, index: number) => Promise<void> | void): Promise<void> {
  const seed = await makeSeed("stories260K", original);
  const random = seededRandom(seedNumber);
  const work = original.slice();
  for (let i = 0; i < count; i++) {
    const { bytes, operation, restore } = mutate(seed, work, [seed], random);
    await use(`#${i} ${operation}`, bytes, i);
    restore();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "camelid-corrupt-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves with `work`'s value, or rejects when it has not settled within `ms` (a hang, not a slow run). */
function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms))),
  ]);
}

describe("camelid's checks on seeded mutants of stories260K", () => {
  it("accept each of 300 mutants or reject it with a typed error that names the problem", async () => {
    const outcomes = { accepted: 0, rejected: 0 };
    const failures: string[] = [];
    const judge = async (name: string, bytes: Uint8Array) => {
      try {
        checkModelHeader(await parseGgufBytes(bytes, { name }), name);
        outcomes.accepted++;
      } catch (error) {
        if ((error instanceof GgufFormatError || error instanceof ModelLoadError) && error.message.length > name.length + 20) outcomes.rejected++;
        else failures.push(`${name}: ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
      }
    };
    for (const { name, bytes } of namedRepros()) await judge(name, bytes);
    await forEachMutant(300, 1414, judge);
    expect(failures).toEqual([]);
    expect(outcomes.rejected).toBeGreaterThan(150);
    expect(outcomes.accepted).toBeGreaterThan(20);
  });

  it("reject the files that hung node-llama-cpp, saying why", async () => {
    const [deleted, ...flipped] = namedRepros();
    await expect(parseGgufBytes(deleted.bytes)).rejects.toThrow(/has \d+ dimensions; at most 4 are allowed/);
    for (const { bytes } of flipped) await expect(parseGgufBytes(bytes)).rejects.toBeInstanceOf(GgufFormatError);
  });
});

describe("the CLI on corrupt models", () => {
  let files: { name: string; path: string }[];
  beforeAll(async () => {
    // The named repros plus a seeded subset, mixed: some are rejected by the checks, some load.
    const subset: { name: string; bytes: Uint8Array }[] = [];
    await forEachMutant(300, 77, (name, bytes, index) => {
      if (index % 25 === 3) subset.push({ name, bytes: bytes.slice() });
    });
    files = [...namedRepros(), ...subset].map(({ name, bytes }, index) => {
      const path = join(dir, `mutant-${index}.gguf`);
      writeFileSync(path, bytes);
      return { name, path };
    });
  });

  it("generate ends every one with a clean error or a valid run", { timeout: 240_000 }, async () => {
    const results: string[] = [];
    for (const { name, path } of files) {
      const { io, stdout, stderr } = captureIo();
      const code = await bounded(main(["generate", "--model", path, "--prompt", "Once upon a time", "-n", "8", "--temperature", "0", "--quiet", "-c", "64"], io), 60_000, name);
      const errorLine = stderr().split("\n").find((line) => line.startsWith("camelid generate: "));
      if (code === 0) {
        expect(stdout().startsWith("Once upon a time"), name).toBe(true);
        results.push("ran");
      } else {
        expect(code, name).toBe(1);
        expect(errorLine, `${name}: ${stderr()}`).toBeDefined();
        expect(errorLine, name).not.toMatch(/Cannot read properties|undefined|TypeError/);
        expect(errorLine, name).toMatch(/invalid GGUF at byte \d+|not a loadable model|llama\.cpp could not load/);
        results.push("error");
      }
    }
    expect(results.slice(0, 4)).toEqual(["error", "error", "error", "error"]);
    expect(results).toContain("ran");
  });

  it("serve (lazy) answers 503 with the reason for each bad model and keeps serving the good one", { timeout: 120_000 }, async () => {
    const args = ["--model", `good=${stories260KPath()}`, ...files.flatMap(({ path }, index) => ["--model", `m${index}=${path}`])];
    const server = await serveInProcess([...args, "--port", "0", "--data-dir", join(dir, "lazy"), "--context-size", "64", "--sequences", "1"]);
    const complete = (model: string) =>
      bounded(
        fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, prompt: "Once upon a time", max_tokens: 4, temperature: 0 }) }),
        60_000,
        model,
      );
    expect((await complete("good")).status).toBe(200);
    const statuses: number[] = [];
    for (const [index, { name }] of files.entries()) {
      const response = await complete(`m${index}`);
      statuses.push(response.status);
      const body = await response.json();
      if (response.status !== 200) {
        expect(response.status, name).toBe(503);
        expect(body.error.message, name).not.toMatch(/Cannot read properties|undefined/);
      }
      // The good model still answers after each bad one.
      expect((await complete("good")).status, `after ${name}`).toBe(200);
    }
    expect(statuses.slice(0, 4)).toEqual([503, 503, 503, 503]);
    const health = await (await fetch(`${server.url}/health`)).json();
    const states = new Map(health.models.map((model: { id: string; state: string }) => [model.id, model.state]));
    expect(states.get("good")).toBe("ready");
    expect(states.get("m0")).toBe("failed");
    expect(await server.stop()).toBe(0);
  });

  it("serve --eager starts, reports the bad models and serves the good one", { timeout: 120_000 }, async () => {
    const [deleted, flipped] = files;
    const server = await serveInProcess(["--model", `good=${stories260KPath()}`, "--model", `deleted=${deleted.path}`, "--model", `flipped=${flipped.path}`, "--eager", "--port", "0", "--data-dir", join(dir, "eager"), "--context-size", "64", "--sequences", "1"]);
    expect(server.log()).toMatch(/loaded 1 of 3 model\(s\)/);
    expect(server.log()).toMatch(/model "deleted" failed to load.*at most 4 are allowed/);
    expect(server.log()).toMatch(/model "flipped" failed to load.*invalid GGUF/);
    const response = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "good", prompt: "Once", max_tokens: 4 }) });
    expect(response.status).toBe(200);
    expect(await server.stop()).toBe(0);
  });
});
