// The real llama-server the llama-server engine's tests run against: CAMELID_TEST_LLAMA_SERVER_BIN, else the
// one `camelid engine build` cached for node-llama-cpp's llama.cpp (CI builds it in .ci/run). Without one
// the tests skip with a message, except in CI (CI set), where a missing binary is a failure.
import { accessSync, constants } from "node:fs";
import { describe, it } from "vitest";
import { defaultCacheDir } from "../../src/hub/cache-layout.js";
import { bundledLlamaCppSource, cachedLlamaServerPath } from "../../src/providers/llama-server/engine-binary.js";

export const LLAMA_SERVER_BIN_ENV = "CAMELID_TEST_LLAMA_SERVER_BIN";

function executable(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

export function testLlamaServerBinary(): string | undefined {
  return executable(process.env[LLAMA_SERVER_BIN_ENV]) ?? executable(cachedLlamaServerPath(defaultCacheDir(process.env), bundledLlamaCppSource().commit));
}

const WHERE = `set ${LLAMA_SERVER_BIN_ENV}=/path/to/llama-server or run \`camelid engine build\``;

/** `describe` when a llama-server exists; otherwise a skipped suite saying why, or, in CI, a failing test. */
export function describeWithLlamaServer(name: string, body: (binary: string) => void): void {
  const binary = testLlamaServerBinary();
  if (binary) {
    // each test may be the first request of a lazily started llama-server (seconds on a loaded 2-core machine)
    describe(name, { timeout: 240_000 }, () => body(binary));
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      it("has a llama-server to test against (CI builds one with `camelid engine build`)", () => {
        throw new Error(`no llama-server found in CI: ${WHERE}`);
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: no llama-server; ${WHERE})`, () => body(""));
}
