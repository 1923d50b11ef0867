// The playground's modules are plain JavaScript checked by TypeScript (strict checkJs, web/jsconfig.json),
// with the server's response types imported through JSDoc: a server change that breaks what the page
// reads fails here, not in a browser.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/shared-data.js";

const webModules = join(repoRoot, "web/js");
const tsc = join(repoRoot, "node_modules/typescript/bin/tsc");

describe("the playground's type check", () => {
  it("every web/js module opts into checking with // @ts-check on its first line", () => {
    const modules = readdirSync(webModules).filter((name) => name.endsWith(".js"));
    expect(modules.length).toBeGreaterThan(0);
    const unchecked = modules.filter((name) => readFileSync(join(webModules, name), "utf8").split("\n", 1)[0].trim() !== "// @ts-check");
    expect(unchecked).toEqual([]);
  });

  it("web/jsconfig.json is strict checkJs", () => {
    const { compilerOptions } = JSON.parse(readFileSync(join(repoRoot, "web/jsconfig.json"), "utf8")) as { compilerOptions: Record<string, unknown> };
    expect(compilerOptions).toMatchObject({ checkJs: true, strict: true, noEmit: true });
  });

  it("tsc -p web/jsconfig.json finds no error", async () => {
    const result = await promisify(execFile)(process.execPath, [tsc, "-p", "web/jsconfig.json", "--pretty", "false"], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout }) => ({ code: 0, output: stdout }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? -1, output: `${error.stdout ?? ""}${error.stderr ?? ""}` }),
    );
    // The errors themselves are the useful failure message.
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  }, 120_000);
});
