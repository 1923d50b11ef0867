import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIo } from "../support/capture-io.js";

describe("camelid CLI dispatch", () => {
  it("lists commands with --help and exits 0", async () => {
    const { io, stdout } = captureIo();
    expect(await main(["--help"], io)).toBe(0);
    expect(stdout()).toContain("generate");
    expect(stdout()).toContain("chat");
  });

  it("rejects an unknown command with one clear line and exit 2", async () => {
    const { io, stderr } = captureIo();
    expect(await main(["frobnicate"], io)).toBe(2);
    expect(stderr()).toMatch(/unknown command "frobnicate"/);
  });

  it("names the bad flag and value without a stack trace", async () => {
    const { io, stderr } = captureIo();
    expect(await main(["generate", "--model", "x.gguf", "--prompt", "hi", "--temperature", "hot"], io)).toBe(1);
    expect(stderr()).toBe('camelid generate: --temperature must be a number, got "hot"\n');
  });

  it("rejects unknown flags naming them", async () => {
    const { io, stderr } = captureIo();
    expect(await main(["generate", "--tempreature", "1"], io)).toBe(1);
    expect(stderr()).toContain("--tempreature");
    expect(stderr()).not.toContain("    at ");
  });

  it("requires a model", async () => {
    const { io, stderr } = captureIo();
    expect(await main(["generate", "--prompt", "hi"], io)).toBe(1);
    expect(stderr()).toMatch(/no model given/);
  });
});
