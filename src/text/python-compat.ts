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

/**
 * Title-case mappings that differ from upper case (UnicodeData/SpecialCasing): digraphs ("ǆ" → "ǅ",
 * not "Ǆ"), ligatures ("ﬁ" → "Fi"), "ß" → "Ss", Greek letters with ypogegrammeni, and Georgian
 * Mkhedruli, whose title case is itself while its upper case is Mtavruli.
 */
const TITLE_CASE_SPECIAL = new Map<number, string>([
  [0xdf, "Ss"], [0x587, "\u0535\u0582"],
  [0x1fb2, "\u1fba\u0345"], [0x1fb3, "\u1fbc"], [0x1fb4, "\u0386\u0345"], [0x1fb7, "\u0391\u0342\u0345"], [0x1fbc, "\u1fbc"],
  [0x1fc2, "\u1fca\u0345"], [0x1fc3, "\u1fcc"], [0x1fc4, "\u0389\u0345"], [0x1fc7, "\u0397\u0342\u0345"], [0x1fcc, "\u1fcc"],
  [0x1ff2, "\u1ffa\u0345"], [0x1ff3, "\u1ffc"], [0x1ff4, "\u038f\u0345"], [0x1ff7, "\u03a9\u0342\u0345"], [0x1ffc, "\u1ffc"],
  [0xfb00, "Ff"], [0xfb01, "Fi"], [0xfb02, "Fl"], [0xfb03, "Ffi"], [0xfb04, "Ffl"], [0xfb05, "St"], [0xfb06, "St"],
  [0xfb13, "\u0544\u0576"], [0xfb14, "\u0544\u0565"], [0xfb15, "\u0544\u056b"], [0xfb16, "\u054e\u0576"], [0xfb17, "\u0544\u056d"],
]);

/** Python's full title case of one character (what str.capitalize applies to the first one). */
function titleCase(char: string): string {
  const codePoint = char.codePointAt(0)!;
  const special = TITLE_CASE_SPECIAL.get(codePoint);
  if (special !== undefined) return special;
  if (codePoint >= 0x1c4 && codePoint <= 0x1cc) return String.fromCodePoint(0x1c5 + 3 * Math.floor((codePoint - 0x1c4) / 3));
  if (codePoint >= 0x1f1 && codePoint <= 0x1f3) return "\u01f2";
  if ((codePoint >= 0x10d0 && codePoint <= 0x10fa) || (codePoint >= 0x10fd && codePoint <= 0x10ff)) return char;
  if (codePoint >= 0x1f80 && codePoint <= 0x1faf) return String.fromCodePoint(codePoint | 0x8);
  return char.toUpperCase();
}

/**
 * Python's str.capitalize() (3.8+): the first character title-cased ("ǆemal" → "ǅemal", "ß" → "Ss"),
 * the rest lower-cased in context (a final "Σ" becomes "ς": "ΑΣ" → "Ας"). Self-Instruct applies it to
 * every generated instruction.
 */
export function pythonCapitalize(text: string): string {
  if (text.length === 0) return text;
  const first = String.fromCodePoint(text.codePointAt(0)!);
  // Lower-case the whole text so the rest keeps its context (final sigma), then drop the first
  // character's lower case (one code point, or two for "İ").
  const lowered = text.toLowerCase();
  const firstLowered = first === "\u03a3" ? 1 : first.toLowerCase().length;
  return titleCase(first) + lowered.slice(firstLowered);
}

/** Python re's `\w` on str: letters, numbers (Nd, Nl, No) and "_"; combining marks (Mn, Mc) are not. */
const PYTHON_WORD_CHAR = "[\\p{L}\\p{N}_]";
/** Python re's `\b`: a word character on exactly one side (string edges count as non-word). */
const PYTHON_BOUNDARY = `(?:(?<=${PYTHON_WORD_CHAR})(?!${PYTHON_WORD_CHAR})|(?<!${PYTHON_WORD_CHAR})(?=${PYTHON_WORD_CHAR}))`;

/**
 * Lower-case letters that Python's re.IGNORECASE treats as one letter beyond simple lower-casing
 * (they share an upper case: "ı" and "i", "ſ" and "s", "ς" and "σ"…), as in re._casefix.
 */
const IGNORECASE_EQUIVALENTS: readonly string[] = [
  "iı", "sſ", "µμ", "\u0345ι\u1fbe", "ΐ\u1fd3", "ΰ\u1fe3", "βϐ", "εϵ", "θϑ", "κϰ", "πϖ", "ρϱ", "ςσ", "φϕ",
  "в\u1c80", "д\u1c81", "о\u1c82", "с\u1c83", "т\u1c84\u1c85", "ъ\u1c86", "ѣ\u1c87", "\u1c88\ua64b", "ṡẛ", "ﬅﬆ",
];
/** Characters whose simple lower case is a letter they are neither the upper nor the title case of. */
const LOWER_CASE_ONLY_SOURCES = "\u0130\u03f4\u1e9e\u2126\u212a\u212b";

/** Python's simple (one code point) lower case, which re.IGNORECASE compares: "İ" → "i", not "i̇". */
function simpleLower(char: string): string {
  if (char === "\u0130") return "i";
  const lower = char.toLowerCase();
  return [...lower].length === 1 ? lower : char;
}

/** Every character that Python's IGNORECASE lets stand for `char`: those whose simple lower case is equivalent to char's. */
function ignoreCaseClass(char: string): string[] {
  const lower = simpleLower(char);
  const targets = new Set([...(IGNORECASE_EQUIVALENTS.find((group) => group.includes(lower)) ?? lower)]);
  const candidates = new Set<string>([char, ...LOWER_CASE_ONLY_SOURCES]);
  for (const target of targets) {
    candidates.add(target);
    for (const variant of [target.toUpperCase(), titleCase(target)]) if ([...variant].length === 1) candidates.add(variant);
  }
  return [...candidates].filter((candidate) => targets.has(simpleLower(candidate)));
}

/**
 * Python re's `\b(word)\b` with IGNORECASE on str, as Alpaca's and Self-Instruct's find_word_in_string
 * (the word taken literally). A text character matches a word character when its simple lower case
 * is the word character's or an IGNORECASE equivalent ("İmage" and "ımage" contain "image", "ﬁle"
 * does not contain "file"); a combining mark after the word ends it ("map\u0301" contains "map").
 */
export function wholeWordPattern(word: string): RegExp {
  const body = [...word].map((char) => `[${ignoreCaseClass(char).map((c) => `\\u{${c.codePointAt(0)!.toString(16)}}`).join("")}]`).join("");
  return new RegExp(`${PYTHON_BOUNDARY}${body}${PYTHON_BOUNDARY}`, "u");
}

/**
 * Python's `json.dumps(s)` of a str with its defaults (ensure_ascii): everything outside " "…"~" is
 * escaped, non-ASCII as \uXXXX (astral characters as surrogate pairs), DEL as \u007f.
 */
export function pythonJsonString(text: string): string {
  const short: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f" };
  return `"${text.replace(/[^ -~]|["\\]/g, (char) => short[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/** Python's `json.dumps(row)` of a flat dict of strings, key order kept: `{"a": "x", "b": "y"}`. */
export function pythonJsonObject(row: Record<string, string>): string {
  return `{${Object.entries(row).map(([key, value]) => `${pythonJsonString(key)}: ${pythonJsonString(value)}`).join(", ")}}`;
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
