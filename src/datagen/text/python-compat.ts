/**
 * Small pieces of Python semantics the reference scripts rely on, so that our filters decide exactly
 * as theirs do. Python's str.split()/\s and JavaScript's \s disagree on a few code points
 * (Python: U+001C–U+001F and U+0085 are whitespace, U+FEFF is not).
 */
export const PYTHON_WHITESPACE_CLASS = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const WHITESPACE_RUN = new RegExp(`[${PYTHON_WHITESPACE_CLASS}]+`, "g");
const EDGE_WHITESPACE = new RegExp(`^[${PYTHON_WHITESPACE_CLASS}]+|[${PYTHON_WHITESPACE_CLASS}]+$`, "g");

/** Python `s.split()` (no argument): split on whitespace runs, no empty strings. */
export function pythonSplit(text: string): string[] {
  return text.split(WHITESPACE_RUN).filter((part) => part.length > 0);
}

/** Python `s.strip()`. */
export function pythonStrip(text: string): string {
  return text.replace(EDGE_WHITESPACE, "");
}

/** Python `re.sub(r"\s+", " ", s)`. */
export function collapseWhitespace(text: string): string {
  return text.replace(WHITESPACE_RUN, " ");
}

/** Python's `string.punctuation`. */
export const PYTHON_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/** Python's `str.isascii()` for the first character (by code point). */
export function startsWithNonAscii(text: string): boolean {
  const codePoint = text.codePointAt(0);
  return codePoint !== undefined && codePoint > 0x7f;
}

/** Python re's Unicode `\b(word)\b` with IGNORECASE, as Alpaca's find_word_in_string. */
export function wholeWordPattern(word: string): RegExp {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\p{L}\\p{N}\\p{Mn}_])(?:${escaped})(?![\\p{L}\\p{N}\\p{Mn}_])`, "iu");
}

/**
 * numpy's float64 mean: pairwise summation (8-way unrolled blocks of at most 128) divided by n, so
 * averages match `float(np.mean(scores))` to the last bit.
 */
export function numpyMean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  return pairwiseSum(values, 0, values.length) / values.length;
}

function pairwiseSum(values: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[start + i];
    return sum;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    let sum = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, n - half);
}
