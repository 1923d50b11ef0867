import TurndownService from "turndown";

/**
 * ShareGPT scrapes hold ChatGPT's rendered HTML. FastChat's clean_sharegpt.py turns it back into
 * Markdown with markdownify 0.11.6 (default options) and then fixes the result with a few regular
 * expressions. This module does the same with turndown (whose Node build parses HTML with its own
 * DOM, domino), with rules that write what markdownify writes: setext headings for h1/h2, `*+-`
 * bullets by depth with tab-indented nested lists, "**"/"*" emphasis, only `*` and `_` escaped (never
 * inside code), <pre> as a bare ``` fence holding the element's exact text, autolinks, pipe tables.
 *
 * markdownify builds its output by plain concatenation (a paragraph is "text\n\n", a code block
 * "\n```\n…\n```\n"), and FastChat's later `"\n\n\n" → "\n"` depends on exactly those newlines.
 * turndown instead merges the newlines around blocks; so the rules write a placeholder for each of
 * markdownify's newlines, which turndown leaves alone, and it becomes "\n" at the end.
 */
const NEWLINE = "\u0001";
const BLANK = /^[\s\u0001]+|[\s\u0001]+$/g;
const strip = (text: string) => text.replace(BLANK, "");
const rstrip = (text: string) => text.replace(/[\s\u0001]+$/, "");
/** Python's len(): code points, not UTF-16 units. */
const pythonLength = (text: string) => [...text].length;

type Element = HTMLElement;

const elementName = (node: Node | null | undefined) => (node && node.nodeType === 1 ? (node as Element).nodeName.toLowerCase() : undefined);
const isWhitespaceText = (node: Node) => node.nodeType === 3 && (node.nodeValue ?? "").trim() === "";

/** Siblings as markdownify sees them: it drops whitespace-only text inside lists and tables. */
function previousSibling(node: Node): Node | null {
  let sibling = node.previousSibling;
  while (sibling && isWhitespaceText(sibling)) sibling = sibling.previousSibling;
  return sibling;
}

function hasAncestor(node: Node, names: string[]): boolean {
  for (let parent = node.parentNode; parent; parent = parent.parentNode) if (names.includes(elementName(parent) ?? "")) return true;
  return false;
}

/** markdownify converts the children of headings and table cells "as inline": no block markup. */
const convertsAsInline = (node: Node) => hasAncestor(node, ["h1", "h2", "h3", "h4", "h5", "h6", "td", "th"]);

/** markdownify's chomp(): the markup goes inside a single leading/trailing space. */
function inline(markup: string) {
  return (content: string) => {
    const prefix = content.startsWith(" ") ? " " : "";
    const suffix = content.endsWith(" ") ? " " : "";
    const text = content.trim();
    return text ? `${prefix}${markup}${text}${markup}${suffix}` : "";
  };
}

/** Python's re.sub("^", prefix, text, flags=re.M): before every line, an empty last one included. */
const prefixLines = (text: string, prefix: string) => text.replace(/(^|[\n\u0001])/g, `$1${prefix}`);

const markdownifyEscape = (text: string) => text.replace(/\*/g, "\\*").replace(/_/g, "\\_");

/** The text of a <pre>: its own text and <code> verbatim, other elements' text collapsed and escaped. */
function preText(node: Node): string {
  let text = "";
  node.childNodes.forEach((child) => {
    if (child.nodeType === 3) text += child.nodeValue ?? "";
    else if (elementName(child) === "code") text += child.textContent ?? "";
    else if (child.nodeType === 1) text += markdownifyEscape((child.textContent ?? "").replace(/[\t ]+/g, " "));
  });
  return text;
}

type Replacement = (content: string, node: Element) => string;

const rules: Record<string, { tags: string[]; replacement: Replacement }> = {
  paragraph: { tags: ["p"], replacement: (content, node) => (convertsAsInline(node) ? content : content ? `${content}${NEWLINE}${NEWLINE}` : "") },
  heading: {
    tags: ["h1", "h2", "h3", "h4", "h5", "h6"],
    replacement: (content, node) => {
      if (convertsAsInline(node)) return content;
      const level = Number(node.nodeName.slice(1));
      const text = rstrip(content);
      if (level <= 2) return text ? `${text}${NEWLINE}${(level === 1 ? "=" : "-").repeat(pythonLength(text))}${NEWLINE}${NEWLINE}` : "";
      return `${"#".repeat(level)} ${text}${NEWLINE}${NEWLINE}`;
    },
  },
  blockquote: { tags: ["blockquote"], replacement: (content, node) => (convertsAsInline(node) ? content : content ? `${NEWLINE}${prefixLines(content, "> ")}${NEWLINE}${NEWLINE}` : "") },
  lineBreak: { tags: ["br"], replacement: (_, node) => (convertsAsInline(node) ? "" : `  ${NEWLINE}`) },
  rule: { tags: ["hr"], replacement: () => `${NEWLINE}${NEWLINE}---${NEWLINE}${NEWLINE}` },
  strong: { tags: ["strong", "b"], replacement: inline("**") },
  emphasis: { tags: ["em", "i"], replacement: inline("*") },
  deleted: { tags: ["del", "s"], replacement: inline("~~") },
  code: { tags: ["code", "kbd", "samp"], replacement: (content, node) => (elementName(node.parentNode) === "pre" ? content : inline("`")(content)) },
  pre: {
    tags: ["pre"],
    replacement: (_, node) => {
      const text = preText(node);
      return text ? `${NEWLINE}\`\`\`${NEWLINE}${text}${NEWLINE}\`\`\`${NEWLINE}` : "";
    },
  },
  link: {
    tags: ["a"],
    replacement: (content, node) => {
      const prefix = content.startsWith(" ") ? " " : "";
      const suffix = content.endsWith(" ") ? " " : "";
      const text = content.trim();
      if (!text) return "";
      const href = node.getAttribute("href");
      const title = node.getAttribute("title");
      if (text.replaceAll("\\_", "_") === href && !title) return `<${href}>`;
      const titlePart = title ? ` "${title.replaceAll('"', '\\"')}"` : "";
      return href ? `${prefix}[${text}](${href}${titlePart})${suffix}` : text;
    },
  },
  image: {
    tags: ["img"],
    replacement: (_, node) => {
      const alt = node.getAttribute("alt") ?? "";
      if (convertsAsInline(node)) return alt;
      const title = node.getAttribute("title") ?? "";
      return `![${alt}](${node.getAttribute("src") ?? ""}${title ? ` "${title.replaceAll('"', '\\"')}"` : ""})`;
    },
  },
  list: {
    tags: ["ul", "ol"],
    replacement: (content, node) => {
      if (hasAncestor(node, ["li"])) return `${NEWLINE}${rstrip(content ? prefixLines(content, "\t") : "")}`;
      const next = node.nextSibling;
      return content + (next && !["ul", "ol"].includes(elementName(next) ?? "") ? NEWLINE : "");
    },
  },
  listItem: {
    tags: ["li"],
    replacement: (content, node) => {
      const parent = node.parentNode as Element | null;
      let bullet: string;
      if (elementName(parent) === "ol") {
        const start = Number(parent!.getAttribute("start") || 1);
        const siblings = [...parent!.childNodes].filter((child) => !isWhitespaceText(child));
        bullet = `${start + siblings.indexOf(node)}.`;
      } else {
        let depth = -1;
        for (let at: Node | null = node; at; at = at.parentNode) if (elementName(at) === "ul") depth++;
        bullet = "*+-"[((depth % 3) + 3) % 3]; // Python's modulo: a stray <li> (depth -1) gets "-"
      }
      return `${bullet} ${strip(content)}${NEWLINE}`;
    },
  },
  table: { tags: ["table"], replacement: (content) => `${NEWLINE}${NEWLINE}${content}${NEWLINE}` },
  cell: { tags: ["td"], replacement: (content) => ` ${strip(content).replace(/[\n\u0001]/g, " ")} |` },
  headerCell: { tags: ["th"], replacement: (content) => ` ${content} |` },
  row: {
    tags: ["tr"],
    replacement: (content, node) => {
      const cells = node.querySelectorAll("td, th").length;
      const parent = node.parentNode as Element;
      const first = previousSibling(node) === null;
      const inBody = elementName(parent) === "tbody";
      const headRow = [...node.querySelectorAll("td, th")].every((cell) => cell.nodeName === "TH") || (first && !inBody) || (first && inBody && (parent.parentNode as Element).querySelectorAll("thead").length < 1);
      const dashes = `| ${Array(cells).fill("---").join(" | ")} |${NEWLINE}`;
      let overline = "";
      let underline = "";
      if (headRow && first) underline = dashes;
      else if (first && (elementName(parent) === "table" || (inBody && previousSibling(parent) === null))) overline = `| ${Array(cells).fill("").join(" | ")} |${NEWLINE}${dashes}`;
      return `${overline}|${content}${NEWLINE}${underline}`;
    },
  },
  dropped: { tags: ["script", "style"], replacement: () => "" },
};

/** One converter per run (turndown's rule set is built once); no state between messages. */
export class MarkdownifyConverter {
  private readonly service: TurndownService;

  constructor() {
    const byTag = new Map<string, Replacement>();
    for (const rule of Object.values(rules)) for (const tag of rule.tags) byTag.set(tag, rule.replacement);
    this.service = new TurndownService({
      // Elements without a rule keep only their content, as markdownify does; so do empty ones.
      defaultReplacement: (content) => content,
      blankReplacement: (_, node) => byTag.get(node.nodeName.toLowerCase())?.("", node) ?? "",
    });
    this.service.escape = markdownifyEscape;
    for (const [name, rule] of Object.entries(rules)) this.service.addRule(name, { filter: rule.tags as TurndownService.TagName[], replacement: (content, node) => rule.replacement(content, node as Element) });
  }

  /** markdownify.markdownify(html), before FastChat's strip(). */
  markdownify(html: string): string {
    return this.service.turndown(html).replaceAll(NEWLINE, "\n");
  }

  /**
   * FastChat's html_to_markdown(): opening <div…> and <span…> tags removed (so code blocks keep their
   * indentation and underscores), markdownify, strip, then FastChat's post-processing.
   */
  convert(html: string): string {
    // Markdown code already in the message (a fence, `inline`) is set aside, so no tag or entity in
    // it is interpreted; ChatGPT's HTML has none, so its conversion is FastChat's.
    const code: string[] = [];
    const shielded = html.replace(new RegExp(CODE.source, "g"), (span) => `\u0002${code.push(span) - 1}\u0003`);
    const text = this.markdownify(shielded.replace(/<div.*?>/g, "").replace(/<span.*?>/g, "")).trim();
    return fastChatPostProcess(text.replace(/\u0002(\d+)\u0003/g, (_, index: string) => code[Number(index)]));
  }
}

export function htmlToMarkdown(html: string): string {
  return new MarkdownifyConverter().convert(html);
}

/** Whether a message is HTML worth converting (ChatGPT's rendered markup). */
export function looksLikeHtml(text: string): boolean {
  return /<(p|div|pre|code|ol|ul|li|h[1-6]|br|strong|em|table|blockquote)(\s[^>]*)?\/?>/i.test(mapOutsideCode(text, (prose) => prose, () => ""));
}

/** Fenced blocks and inline code spans: what the post-processing must not touch. */
const CODE = /(```[\s\S]*?```|`[^`\n]+`)/;
function mapOutsideCode(text: string, change: (prose: string) => string, changeCode = (code: string) => code): string {
  return text.split(CODE).map((part, i) => (i % 2 === 1 ? changeCode(part) : change(part))).join("");
}

/**
 * FastChat's clean-up after markdownify, rule by rule:
 * - reformat_code: "```\s*(.*?)(?:Copy code)+(.+?)\s*?```" → "```<lang>\n<code>\n```" (ChatGPT's code
 *   header, "pythonCopy code", ends up inside the fence); applied to each fence on its own, so a block
 *   without the header is never merged with the next one;
 * - a leading "<n> / <n>" (the regenerated-answer counter) is cut;
 * - "Copy<n> chars / <n> words" noise is removed;
 * - an empty "```…Copy code```" block is removed;
 * - "\n\n\n" → "\n", then strip.
 * The noise and newline rules are not applied inside code, so code stays as written.
 */
export function fastChatPostProcess(markdown: string): string {
  let text = markdown.replace(/```[\s\S]*?```/g, (fence) => fence.replace(/^```\s*(.*?)(?:Copy code)+(.+?)\s*?```$/s, "```$1\n$2\n```"));
  const counter = /^\p{Nd}+ \/ \p{Nd}+/u.exec(text);
  if (counter) text = text.slice(counter[0].length);
  text = mapOutsideCode(text, (prose) => prose.replace(/Copy\p{Nd}+ chars \/ \p{Nd}+ words/gu, ""));
  text = text.replace(/```(.*?)Copy code\s*```/g, "");
  text = mapOutsideCode(text, (prose) => prose.replaceAll("\n\n\n", "\n"));
  return text.trim();
}
