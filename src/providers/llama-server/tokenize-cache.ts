// Token ids that llama-server's /tokenize already gave for one model. A text tokenized with the same flag
// always gives the same ids (one model file, one tokenizer), so a repeated text costs no round trip: chat
// markup, a system prompt, the same prompt again, and the window strategy's second render of a chat.

/** Characters of text kept in all (about 2 MiB of keys plus their ids), least recently used out first. */
const DEFAULT_MAX_CHARACTERS = 1 << 20;

export class TokenizeCache {
  /** In insertion order = least recently used first; a pending lookup is shared by callers asking at once. */
  private readonly entries = new Map<string, Promise<number[]>>();
  private characters = 0;

  constructor(private readonly maxCharacters = DEFAULT_MAX_CHARACTERS) {}

  /** The ids of `text` (special-token parsing `special`), from the cache or from `tokenize`; a fresh array each time. */
  async tokenize(text: string, special: boolean, tokenize: () => Promise<number[]>): Promise<number[]> {
    const key = `${special ? "s" : "t"}${text}`;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      entry = tokenize();
      // A text longer than a sixteenth of the budget would push out too much that repeats.
      if (key.length <= this.maxCharacters / 16) this.remember(key, entry);
    }
    return (await entry).slice();
  }

  /** Entries held, for tests. */
  get size(): number {
    return this.entries.size;
  }

  private remember(key: string, entry: Promise<number[]>): void {
    this.entries.set(key, entry);
    this.characters += key.length;
    // A failed lookup (the process died) is asked again next time.
    entry.catch(() => this.forget(key, entry));
    for (const [oldest, value] of this.entries) {
      if (this.characters <= this.maxCharacters) break;
      this.forget(oldest, value);
    }
  }

  private forget(key: string, entry: Promise<number[]>): void {
    if (this.entries.get(key) !== entry) return;
    this.entries.delete(key);
    this.characters -= key.length;
  }
}
