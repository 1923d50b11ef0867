// Hugging Face tokenizers compile Split patterns with Oniguruma; this rewrites such a pattern into a
// JavaScript RegExp (flag "u") that matches the same strings for the constructs tokenizer.json files
// use: (?i:…) groups of literals, Unicode \s \d \w, `.` that stops only at \n, \p{Script}.
// A construct JavaScript cannot express makes `toJavaScriptRegExp` throw.

/** Oniguruma's Unicode \s (White_Space); JavaScript's \s differs (it has U+FEFF and lacks U+0085). */
const WHITE_SPACE = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const DIGIT = "\\p{Nd}";
const WORD = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";

const GENERAL_CATEGORIES = new Set(
  "L Lu Ll Lt Lm Lo LC M Mn Mc Me N Nd Nl No P Pc Pd Ps Pe Pi Pf Po S Sm Sc Sk So Z Zs Zl Zp C Cc Cf Cs Co Cn".split(" "),
);

function propertyEscape(name: string, negated: boolean): string {
  const letter = negated ? "P" : "p";
  if (GENERAL_CATEGORIES.has(name) || name.includes("=")) return `\\${letter}{${name}}`;
  return `\\${letter}{Script=${name}}`;
}

/** Expands the letters of a case-insensitive group made of literals, escapes and classes. */
function caseInsensitive(body: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === "\\") {
      // copy escapes whole: \p{L}, \u2000 and \x85 hold letters that are not literals
      const next = body[i + 1];
      let end = i + 2;
      if ((next === "p" || next === "P") && body[i + 2] === "{") end = body.indexOf("}", i) + 1;
      else if (next === "u") end = body[i + 2] === "{" ? body.indexOf("}", i) + 1 : i + 6;
      else if (next === "x") end = i + 4;
      out += body.slice(i, end);
      i = end - 1;
      continue;
    }
    if (char === "[") inClass = true;
    else if (char === "]") inClass = false;
    const lower = char.toLowerCase();
    const upper = char.toUpperCase();
    if (lower !== upper && /[a-z]/i.test(char)) out += inClass ? `${lower}${upper}` : `[${lower}${upper}]`;
    else out += char;
  }
  return out;
}

export function toJavaScriptRegExp(pattern: string): RegExp {
  let out = "";
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "\\") {
      const next = pattern[i + 1];
      i++;
      if (next === "s") out += inClass ? WHITE_SPACE : `[${WHITE_SPACE}]`;
      else if (next === "d") out += inClass ? DIGIT : `[${DIGIT}]`;
      else if (next === "w") out += inClass ? WORD : `[${WORD}]`;
      else if (next === "S" || next === "D" || next === "W") {
        if (inClass) throw new Error(`\\${next} inside a character class is not supported`);
        out += `[^${next === "S" ? WHITE_SPACE : next === "D" ? DIGIT : WORD}]`;
      } else if ((next === "p" || next === "P") && pattern[i + 1] === "{") {
        const close = pattern.indexOf("}", i + 1);
        if (close < 0) throw new Error("unterminated \\p{…}");
        let name = pattern.slice(i + 2, close);
        let negated = next === "P";
        if (name.startsWith("^")) {
          negated = !negated;
          name = name.slice(1);
        }
        out += propertyEscape(name, negated);
        i = close;
      } else out += `\\${next}`;
      continue;
    }
    if (inClass) {
      if (char === "]") inClass = false;
      else if (char === "[") throw new Error("nested character classes are not supported");
      out += char;
      continue;
    }
    if (char === "[") {
      inClass = true;
      out += char;
      if (pattern[i + 1] === "^") {
        out += "^";
        i++;
      }
      // a leading ] is a literal in Oniguruma
      if (pattern[i + 1] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (char === ".") {
      out += "[^\\n]";
      continue;
    }
    if (pattern.startsWith("(?i:", i)) {
      let depth = 1;
      let end = i + 4;
      for (; end < pattern.length && depth > 0; end++) {
        if (pattern[end] === "\\") end++;
        else if (pattern[end] === "(") depth++;
        else if (pattern[end] === ")") depth--;
      }
      if (depth !== 0) throw new Error("unterminated (?i: group");
      const inner = toJavaScriptRegExp(pattern.slice(i + 4, end - 1)).source;
      out += `(?:${caseInsensitive(inner)})`;
      i = end - 1;
      continue;
    }
    if (pattern.startsWith("(?>", i) || pattern.startsWith("(?<", i) && !pattern.startsWith("(?<=", i) && !pattern.startsWith("(?<!", i)) {
      throw new Error(`the group at ${i} (atomic or named) is not supported`);
    }
    if ((char === "+" || char === "*" || char === "?" || char === "}") && pattern[i + 1] === "+") {
      throw new Error(`possessive quantifier at ${i} is not supported`);
    }
    out += char;
  }
  return new RegExp(out, "gu");
}
