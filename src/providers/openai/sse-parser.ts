import { UpstreamError } from "../../errors/index.js";

/** One dispatched Server-Sent Event. `event` is "message" unless the server named it. */
export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

export interface ServerSentEventParserOptions {
  /** Longest line or event accepted before the stream is declared malformed (bounds memory on a hostile server). */
  maxLineLength?: number;
}

const defaultMaxLineLength = 16 * 1024 * 1024;

/**
 * Incremental parser for `text/event-stream` (WHATWG HTML §9.2.6), fed raw bytes as they arrive.
 * Bytes may be split anywhere: inside a multi-byte UTF-8 character (the streaming TextDecoder keeps
 * the partial character), between "\r" and "\n" (remembered across chunks), or mid-line.
 *
 * One non-standard extension: llama.cpp's server writes stream errors as a line `error: {json}`
 * (a field the standard would ignore). We surface it as an event named "error" so the failure is
 * reported instead of silently dropped.
 */
export class ServerSentEventParser {
  private readonly decoder = new TextDecoder("utf-8");
  private readonly maxLineLength: number;
  private pendingLine = "";
  private skipNextLineFeed = false;
  private atStreamStart = true;
  private dataLines: string[] = [];
  private eventDataLength = 0;
  private eventName = "";
  private lastEventId: string | undefined;
  private sawAnyLineOfEvent = false;

  constructor(options: ServerSentEventParserOptions = {}) {
    this.maxLineLength = options.maxLineLength ?? defaultMaxLineLength;
  }

  /** Feed the next chunk of the body; returns every event completed by it, in order. */
  push(chunk: Uint8Array): ServerSentEvent[] {
    return this.consumeText(this.decoder.decode(chunk, { stream: true }));
  }

  /**
   * The body ended. Returns events completed by the final bytes and whether an event was left
   * unterminated (a dispatch needs a blank line; a half-written event is discarded, as the standard says).
   */
  finish(): { events: ServerSentEvent[]; unterminatedEvent: boolean } {
    const events = this.consumeText(this.decoder.decode());
    const unterminatedEvent = this.pendingLine.length > 0 || this.sawAnyLineOfEvent;
    this.pendingLine = "";
    this.resetEvent();
    return { events, unterminatedEvent };
  }

  private consumeText(text: string): ServerSentEvent[] {
    const events: ServerSentEvent[] = [];
    let position = 0;
    if (this.atStreamStart && text.length > 0) {
      this.atStreamStart = false;
      if (text.charCodeAt(0) === 0xfeff) position = 1; // a leading BOM is not part of the stream
    }
    if (this.skipNextLineFeed && position < text.length) {
      this.skipNextLineFeed = false;
      if (text[position] === "\n") position++;
    }
    while (position < text.length) {
      const lineEnd = findLineEnd(text, position);
      if (lineEnd === -1) {
        this.pendingLine += text.slice(position);
        if (this.pendingLine.length > this.maxLineLength) {
          throw new UpstreamError(`server-sent event line longer than ${this.maxLineLength} characters`);
        }
        break;
      }
      const line = this.pendingLine + text.slice(position, lineEnd);
      this.pendingLine = "";
      if (text[lineEnd] === "\r" && lineEnd + 1 === text.length) {
        this.skipNextLineFeed = true; // the "\n" of a "\r\n" may open the next chunk
        position = lineEnd + 1;
      } else if (text[lineEnd] === "\r" && text[lineEnd + 1] === "\n") {
        position = lineEnd + 2;
      } else {
        position = lineEnd + 1;
      }
      const event = this.processLine(line);
      if (event) events.push(event);
    }
    return events;
  }

  private processLine(line: string): ServerSentEvent | undefined {
    if (line === "") return this.dispatch();
    this.sawAnyLineOfEvent = true;
    if (line.startsWith(":")) return undefined; // comment (servers send these as keep-alives)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.appendData(value);
        break;
      case "event":
        this.eventName = value;
        break;
      case "id":
        if (!value.includes("\u0000")) this.lastEventId = value;
        break;
      case "error": // llama.cpp server's non-standard error line, see the class comment
        this.eventName = "error";
        this.appendData(value);
        break;
      default: // "retry" and unknown fields: nothing to do for a one-shot HTTP stream
        break;
    }
    return undefined;
  }

  private appendData(value: string): void {
    this.eventDataLength += value.length + 1;
    if (this.eventDataLength > this.maxLineLength) {
      throw new UpstreamError(`server-sent event longer than ${this.maxLineLength} characters`);
    }
    this.dataLines.push(value);
  }

  private dispatch(): ServerSentEvent | undefined {
    const hadData = this.dataLines.length > 0;
    const event: ServerSentEvent = { event: this.eventName || "message", data: this.dataLines.join("\n") };
    if (this.lastEventId !== undefined) event.id = this.lastEventId;
    this.resetEvent();
    return hadData ? event : undefined;
  }

  private resetEvent(): void {
    this.dataLines = [];
    this.eventDataLength = 0;
    this.eventName = "";
    this.sawAnyLineOfEvent = false;
  }
}

function findLineEnd(text: string, from: number): number {
  for (let index = from; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x0a || code === 0x0d) return index;
  }
  return -1;
}
