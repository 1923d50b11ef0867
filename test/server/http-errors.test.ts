import { describe, expect, it } from "vitest";
import { BattleStateError } from "../../src/server/arena/arena-errors.js";
import { ResourceConflictError, serverHttpError } from "../../src/server/http-errors.js";

describe("serverHttpError, the server's one error mapping", () => {
  it("maps the arena's battle-state errors as conflicts, keeping their own code", () => {
    expect(serverHttpError(new BattleStateError("answer A of turn 1 is already streaming"))).toEqual({
      status: 409,
      body: { error: { message: "answer A of turn 1 is already streaming", type: "invalid_request_error", param: null, code: "battle_state" } },
      headers: {},
    });
    expect(serverHttpError(new ResourceConflictError("model", "already served")).body.error.code).toBe("conflict");
  });
});
