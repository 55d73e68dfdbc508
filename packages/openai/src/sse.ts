/** One server-sent event: its `event:` name (if any) and its `data:` lines joined with "\n" (maybe none). */
export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * A small incremental server-sent-events decoder (the WHATWG rules for `event` and `data`, but an event
 * with a name and no data is dispatched, as the openai SDK's decoder does; `id` and `retry` are not
 * needed here). Feed it the bytes of a response body as they arrive.
 */
export class SseDecoder {
  #text = new TextDecoder();
  #buffer = "";
  #event: string | undefined;
  #data: string[] = [];
  #onEvent: (event: SseEvent) => void;

  constructor(onEvent: (event: SseEvent) => void) {
    this.#onEvent = onEvent;
  }

  push(bytes: Uint8Array): void {
    this.#lines(this.#text.decode(bytes, { stream: true }), false);
  }

  /** The body ended: decode what is left and dispatch a last event not followed by a blank line. */
  end(): void {
    this.#lines(this.#text.decode(), true);
    this.#line("");
  }

  #lines(text: string, final: boolean): void {
    const buffer = this.#buffer + text;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for the next one.
      if (c === 13 && i + 1 === buffer.length && !final) break;
      this.#line(buffer.slice(start, i));
      if (c === 13 && buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.#buffer = buffer.slice(start);
    if (final && this.#buffer !== "") {
      this.#line(this.#buffer);
      this.#buffer = "";
    }
  }

  #line(line: string): void {
    if (line === "") {
      // As the SDK's decoder: an event with a name and no data is one too (its data is "", not JSON).
      if (this.#data.length > 0 || this.#event)
        this.#onEvent({ event: this.#event, data: this.#data.join("\n") });
      this.#event = undefined;
      this.#data = [];
      return;
    }
    if (line.charCodeAt(0) === 58 /* ":" comment */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
  }
}
