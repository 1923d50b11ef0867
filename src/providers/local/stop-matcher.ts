// Stop strings are matched on text, not tokens: a stop like "\nUser:" usually spans several tokens
// and may start in the middle of one. Text that could still become a stop string is held back, so
// a stream never shows the beginning of a stop string that is then trimmed away.

export interface StopMatchResult {
  /** Text that is certainly part of the completion. */
  text: string;
  /** The stop string that ended the completion, if one was found (it is not part of `text`). */
  stop?: string;
}

export class StopStringMatcher {
  private pending = "";
  private readonly stops: string[];

  constructor(stops: readonly string[]) {
    this.stops = [...new Set(stops.filter((stop) => stop.length > 0))];
  }

  /** Adds generated text; returns what can be shown now and the stop string once one matches. */
  push(text: string): StopMatchResult {
    if (this.stops.length === 0) return { text };
    this.pending += text;
    let earliest = -1;
    let matched: string | undefined;
    for (const stop of this.stops) {
      const index = this.pending.indexOf(stop);
      if (index !== -1 && (earliest === -1 || index < earliest)) {
        earliest = index;
        matched = stop;
      }
    }
    if (matched !== undefined) {
      const before = this.pending.slice(0, earliest);
      this.pending = "";
      return { text: before, stop: matched };
    }
    const holdBack = this.longestStopPrefixAtEnd();
    const ready = this.pending.slice(0, this.pending.length - holdBack);
    this.pending = this.pending.slice(this.pending.length - holdBack);
    return { text: ready };
  }

  /** The generation ended without a stop string: the held-back text is part of the completion. */
  flush(): string {
    const rest = this.pending;
    this.pending = "";
    return rest;
  }

  private longestStopPrefixAtEnd(): number {
    let longest = 0;
    for (const stop of this.stops) {
      const max = Math.min(stop.length - 1, this.pending.length);
      for (let length = max; length > longest; length--) {
        if (this.pending.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
