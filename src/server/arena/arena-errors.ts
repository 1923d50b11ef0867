import { ResourceConflictError } from "../http-errors.js";

/**
 * The request is well-formed but the battle is not in a state that allows it (an answer still
 * streaming, a vote before both answers finished, a second vote): a conflict, 409, mapped with
 * every other error in src/server/http-errors.ts.
 */
export class BattleStateError extends ResourceConflictError {
  override readonly code = "battle_state";
  constructor(message: string) {
    super("battle", message);
  }
}
