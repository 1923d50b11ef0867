import { describe, expect, it } from "vitest";
import * as camelid from "../../src/index.js";

describe("package entry", () => {
  it("exports the providers, prompt-format lookup and typed errors", () => {
    expect(typeof camelid.createLocalModel).toBe("function");
    expect(typeof camelid.createOpenAICompatibleModel).toBe("function");
    expect(camelid.promptFormatNames()).toContain("vicuna-v1.1");
    expect(new camelid.ContextLengthExceededError(10, 5)).toBeInstanceOf(camelid.CamelidError);
  });
});
