import { describe, expect, it } from "vitest";
import { SseDecoder, type SseEvent } from "./sse";

function decode(pieces: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const decoder = new SseDecoder((e) => events.push(e));
  const bytes = new TextEncoder();
  for (const piece of pieces) decoder.push(bytes.encode(piece));
  decoder.end();
  return events;
}

describe("SseDecoder", () => {
  it("splits events on blank lines and joins multi-line data", () => {
    expect(decode(["event: a\ndata: 1\n\ndata: x\ndata: y\n\n"])).toEqual([
      { event: "a", data: "1" },
      { event: undefined, data: "x\ny" },
    ]);
  });

  it("gives the same events however the bytes are cut, CRLF split across chunks included", () => {
    const text = 'event: response.created\r\ndata: {"a":1}\r\n\r\n: comment\r\ndata:{"b":"é😀"}\r\n\r\n';
    const whole = decode([text]);
    expect(whole).toEqual([
      { event: "response.created", data: '{"a":1}' },
      { event: undefined, data: '{"b":"é😀"}' },
    ]);
    const bytes = new TextEncoder().encode(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const events: SseEvent[] = [];
      const decoder = new SseDecoder((e) => events.push(e));
      decoder.push(bytes.slice(0, cut));
      decoder.push(bytes.slice(cut));
      decoder.end();
      expect(events).toEqual(whole);
    }
  });

  it("dispatches a last event the body ends without a blank line after", () => {
    expect(decode(["data: [DONE]"])).toEqual([{ event: undefined, data: "[DONE]" }]);
    expect(decode(["data: 1\r"])).toEqual([{ event: undefined, data: "1" }]);
  });

  it("ignores comments, unknown fields and events without data or a name; a named one without data is one, as the SDK reads it", () => {
    expect(decode([": ping\n\nid: 3\nretry: 10\n\nevent:\n\n"])).toEqual([]);
    expect(decode(["event: only-name\n\n"])).toEqual([{ event: "only-name", data: "" }]);
  });
});
