// The style of one side's answers, as FastChat's arena records it in a battle's conv_metadata
// (sum_assistant_*_tokens, header_count_*, list_count_*, bold_count_*): the covariates of the
// style-controlled Bradley-Terry (elo_analysis.py --style-control).

/** One side's answers in numbers: tokens over all turns, and its markdown headers, list items and bold runs. */
export interface StyleCounts {
  tokens: number;
  headers: number;
  lists: number;
  bold: number;
}

/** Both sides of a battle. */
export interface BattleStyle {
  a: StyleCounts;
  b: StyleCounts;
}

export interface MarkdownCounts {
  header_count: Record<"h1" | "h2" | "h3" | "h4" | "h5" | "h6", number>;
  list_count: { ordered: number; unordered: number };
  bold_count: { "**": number; "__": number };
}

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

/**
 * FastChat's add_markdown_info.py on one side's answers: the assistant turns joined with "\n", code
 * blocks emptied first (its `remove_pattern` with ```([^`]*)```: each captured body is replaced
 * everywhere in the text, the fences stay), then its regular expressions, which `m` makes per line.
 */
export function countMarkdownElements(answers: readonly string[]): MarkdownCounts {
  let text = answers.join("\n");
  // split/join is Python's str.replace: every occurrence goes (an empty body changes nothing).
  for (const [, body] of [...text.matchAll(/```([^`]*)```/g)]) text = text.split(body).join("");
  const header = (level: number) => count(text, new RegExp(`^#{${level}}\\s`, "gm"));
  return {
    header_count: { h1: header(1), h2: header(2), h3: header(3), h4: header(4), h5: header(5), h6: header(6) },
    list_count: { ordered: count(text, /^\s*\p{Nd}+\.\s/gmu), unordered: count(text, /^\s*[-*+]\s/gm) },
    bold_count: { "**": count(text, /\*\*[^*\n]+\*\*/g), "__": count(text, /__[^_\n]+__/g) },
  };
}

/** A conv_metadata entry is an int or a dict of ints (FastChat sums the dict's values). */
export const sumCounts = (value: number | Record<string, number>): number =>
  typeof value === "number" ? value : Object.values(value).reduce((sum, v) => sum + v, 0);

/** The style of one side from its token count and its answers' text. */
export function styleOfAnswers(tokens: number, answers: readonly string[]): StyleCounts {
  const markdown = countMarkdownElements(answers);
  return { tokens, headers: sumCounts(markdown.header_count), lists: sumCounts(markdown.list_count), bold: sumCounts(markdown.bold_count) };
}
