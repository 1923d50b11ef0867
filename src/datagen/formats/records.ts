/** The one in-memory shape every dataset format converts through. */
export type TurnRole = "user" | "assistant";

export interface Turn {
  role: TurnRole;
  content: string;
}

export interface Conversation {
  id?: string;
  system?: string;
  turns: Turn[];
  /** Fields of the source row that have no place in the common shape (category, source…), kept for round trips. */
  extra?: Record<string, unknown>;
}

/** A preference pair: the conversation so far, then a chosen and a rejected assistant reply. */
export interface PreferencePair {
  id?: string;
  system?: string;
  turns: Turn[];
  chosen: string;
  rejected: string;
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
