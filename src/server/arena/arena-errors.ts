import { CamelidError } from "../../errors/index.js";
import { serverHttpError } from "../http-errors.js";
import type { HttpError } from "../../errors/index.js";

/**
 * The request is well-formed but the battle is not in a state that allows it (an answer still
 * streaming, a vote before both answers finished, a second vote): 409, like a conflict.
 */
export class BattleStateError extends CamelidError {
  readonly code = "battle_state";
}

/** Arena errors as HTTP; everything else goes through the server's one mapping. */
export function arenaHttpError(error: unknown): HttpError {
  if (error instanceof BattleStateError) {
    return { status: 409, body: { error: { message: error.message, type: "invalid_request_error", param: null, code: error.code } }, headers: {} };
  }
  return serverHttpError(error);
}
