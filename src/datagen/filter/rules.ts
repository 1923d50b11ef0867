import { PYTHON_PUNCTUATION, pythonSplit, startsWithNonAscii, wholeWordPattern } from "../../text/python-compat.js";

/** Why an instruction was rejected; stable names used in progress counts and summaries. */
export type RejectionReason =
  | "too-short"
  | "too-long"
  | "blacklisted-word"
  | "forbidden-prefix"
  | "starts-with-punctuation"
  | "starts-with-non-ascii"
  | "too-similar";

export interface Rejection {
  reason: RejectionReason;
  /** Human-readable specifics: the word, the prefix, the similar instruction and its score… */
  detail: string;
}

export interface InstructionRules {
  /** Reject when the word count (Python str.split) is ≤ this. Alpaca: 3. */
  minWordsExclusive: number;
  /** Reject when the word count is > this. Alpaca: 150. */
  maxWords: number;
  /** Whole-word, case-insensitive. */
  blacklist: string[];
  /** Case-sensitive prefixes (Alpaca: "Write a program"). */
  forbiddenPrefixes: string[];
}

export const alpacaBlacklist = [
  "image", "images", "graph", "graphs", "picture", "pictures", "file", "files", "map", "maps",
  "draw", "plot", "go to", "video", "audio", "music", "flowchart", "diagram",
];

export const alpacaRules: InstructionRules = {
  minWordsExclusive: 3,
  maxWords: 150,
  blacklist: alpacaBlacklist,
  forbiddenPrefixes: ["Write a program"],
};

/** Compiles the rules once; `check` applies them in Alpaca's order and names the first that fails. */
export class InstructionRuleChecker {
  private readonly blacklistPatterns: { word: string; pattern: RegExp }[];

  constructor(readonly rules: InstructionRules = alpacaRules) {
    this.blacklistPatterns = rules.blacklist.map((word) => ({ word, pattern: wholeWordPattern(word) }));
  }

  check(instruction: string): Rejection | undefined {
    const words = pythonSplit(instruction).length;
    if (words <= this.rules.minWordsExclusive) return { reason: "too-short", detail: `${words} words (needs more than ${this.rules.minWordsExclusive})` };
    if (words > this.rules.maxWords) return { reason: "too-long", detail: `${words} words (at most ${this.rules.maxWords})` };
    for (const { word, pattern } of this.blacklistPatterns) {
      if (pattern.test(instruction)) return { reason: "blacklisted-word", detail: `contains "${word}"` };
    }
    for (const prefix of this.rules.forbiddenPrefixes) {
      if (instruction.startsWith(prefix)) return { reason: "forbidden-prefix", detail: `starts with "${prefix}"` };
    }
    if (PYTHON_PUNCTUATION.includes(instruction[0])) return { reason: "starts-with-punctuation", detail: `starts with "${instruction[0]}"` };
    if (startsWithNonAscii(instruction)) return { reason: "starts-with-non-ascii", detail: `starts with "${String.fromCodePoint(instruction.codePointAt(0)!)}"` };
    return undefined;
  }
}
