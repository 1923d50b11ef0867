import { readFileSync } from "node:fs";
import { InvalidArgumentError } from "../../errors/index.js";

/** Typographic apostrophes and case do not matter to the phrase list. */
function normalize(text: string): string {
  return text.replace(/[\u2018\u2019\u02bc]/g, "'").toLowerCase();
}

/**
 * The cheap refusal detector: an answer containing any phrase of the list is a refusal. It runs
 * beside the judge so a report can say how far the two agree (a phrase list misses polite
 * deflections and flags answers that merely quote "I cannot").
 */
export class RefusalDetector {
  private readonly phrases: string[];

  constructor(phrases: readonly string[]) {
    this.phrases = phrases.map(normalize).filter((phrase) => phrase.trim() !== "");
    if (this.phrases.length === 0) throw new InvalidArgumentError("refusal-phrases", "the refusal phrase list is empty");
  }

  /** The first phrase found in the answer, or undefined. */
  matchedPhrase(answer: string): string | undefined {
    const text = normalize(answer);
    return this.phrases.find((phrase) => text.includes(phrase));
  }

  isRefusal(answer: string): boolean {
    return this.matchedPhrase(answer) !== undefined;
  }

  /** One phrase a line; blank lines and lines starting with # are skipped. */
  static fromFile(path: string): RefusalDetector {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      throw new InvalidArgumentError("refusal-phrases", `file not found: ${path}`);
    }
    return new RefusalDetector(text.split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#")));
  }
}
