/** A row exactly as FastChat's gen_judgment.py writes `model_judgment/gpt-4_pair.jsonl`: no category. */
export function fastChatPairJudgment(fields: {
  question_id: number;
  model_1: string;
  model_2: string;
  g1_winner: "model_1" | "model_2" | "tie" | "error";
  g2_winner: "model_1" | "model_2" | "tie" | "error";
  turn?: number;
  tstamp?: number;
}) {
  return {
    question_id: fields.question_id,
    model_1: fields.model_1,
    model_2: fields.model_2,
    g1_winner: fields.g1_winner,
    g2_winner: fields.g2_winner,
    judge: ["gpt-4", "pair-v2"],
    g1_user_prompt: "…",
    g1_judgment: "[[A]]",
    g2_user_prompt: "…",
    g2_judgment: "[[B]]",
    turn: fields.turn ?? 1,
    tstamp: fields.tstamp ?? 1687221939.5,
  };
}
