/** The one in-memory shape every dataset format converts through. */
export type TurnRole = "user" | "assistant" | "system";

/**
 * LLaMA-Factory's tool turns (glaive_toolcall): a function call is on the assistant's side, its
 * observation (the tool's result) on the user's, as LLaMA-Factory aligns them.
 */
export type ToolKind = "function_call" | "observation";

export interface Turn {
  /** "system" only for a system message after the first turn; the leading one is `Conversation.system`. */
  role: TurnRole;
  content: string;
  kind?: ToolKind;
  /** Alpaca's instruction and input (Dolly's context) when this user turn was read from them; `content` joins them. */
  alpaca?: { instruction: string; input: string };
  /** The source's content parts ([{type: "text", text}, …]) when `content` was joined from them. */
  parts?: unknown[];
  /** Fields of the source message beyond its role and text (OpenAI tool_calls, tool_call_id, name…). */
  extra?: Record<string, unknown>;
}

export interface Conversation {
  id?: string;
  system?: string;
  turns: Turn[];
  /** Fields of the source row that have no place in the common shape (category, source, tools…), kept for round trips. */
  extra?: Record<string, unknown>;
}

/** A preference pair: the conversation so far, then a chosen and a rejected assistant reply. */
export interface PreferencePair {
  id?: string;
  system?: string;
  turns: Turn[];
  chosen: string;
  rejected: string;
  /** Fields of the source row beyond the pair (source, scores…), kept for round trips. */
  extra?: Record<string, unknown>;
}

export type DatasetFormat = "alpaca" | "sharegpt" | "openai" | "dolly" | "dpo";
export const datasetFormats: DatasetFormat[] = ["alpaca", "sharegpt", "openai", "dolly", "dpo"];

/** A row that could not be read, with where it is. */
export interface RowProblem {
  file: string;
  line: number;
  message: string;
}

export type Dataset =
  | { kind: "conversations"; format: DatasetFormat; records: Conversation[]; problems: RowProblem[] }
  | { kind: "preferences"; format: "dpo"; records: PreferencePair[]; problems: RowProblem[] };
