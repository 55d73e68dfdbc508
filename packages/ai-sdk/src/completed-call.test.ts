import { describe, expect, it } from "vitest";
import {
  inputMessages,
  normalizeFinishReason,
  normalizeUsage,
  outputMessages,
  StreamOutcome,
} from "./completed-call";

describe("usage and finish reason across spec versions", () => {
  it("reads the flat V2 usage (ai 5) and the nested V3/V4 usage (ai 6, 7) alike", () => {
    expect(normalizeUsage({ inputTokens: 12, outputTokens: 3, totalTokens: 15 })).toEqual({
      inputTokens: 12,
      outputTokens: 3,
    });
    expect(
      normalizeUsage({
        inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: undefined },
        outputTokens: { total: 3, text: 3, reasoning: 0 },
      }),
    ).toEqual({ inputTokens: 12, outputTokens: 3 });
    expect(normalizeUsage({ inputTokens: undefined, outputTokens: undefined })).toBeUndefined();
    expect(normalizeUsage(undefined)).toBeUndefined();
  });

  it("reads V2's string finish reason and V3/V4's { unified, raw }", () => {
    expect(normalizeFinishReason("tool-calls")).toBe("tool_calls");
    expect(normalizeFinishReason({ unified: "length", raw: "max_tokens" })).toBe("length");
    expect(normalizeFinishReason(undefined)).toBeUndefined();
  });
});

describe("prompt and output as chat messages", () => {
  it("flattens parts to text and keeps tool calls and results", () => {
    const prompt = [
      { role: "system", content: "Be terse." },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in " },
          { type: "file", mediaType: "image/png", data: "AAAA", filename: "cat.png" },
          { type: "text", text: "?" },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "hidden" },
          { type: "text", text: "Checking." },
          { type: "tool-call", toolCallId: "c1", toolName: "vision", input: { q: "cat" } },
          { type: "tool-call", toolCallId: "c2", toolName: "lookup", input: { id: 7 } },
        ],
      },
      {
        role: "tool",
        content: [
          {
            type: "tool-result",
            toolCallId: "c1",
            toolName: "vision",
            output: { type: "json", value: { label: "cat" } },
          },
          {
            type: "tool-result",
            toolCallId: "c2",
            toolName: "lookup",
            output: { type: "error-text", value: "not found" },
          },
        ],
      },
    ];
    expect(inputMessages(prompt)).toEqual([
      { role: "system", content: "Be terse." },
      { role: "user", content: "What is in \n[image: cat.png]\n?" },
      {
        role: "assistant",
        content: "Checking.",
        toolCalls: [
          { id: "c1", name: "vision", arguments: '{"q":"cat"}' },
          { id: "c2", name: "lookup", arguments: '{"id":7}' },
        ],
      },
      { role: "tool", toolCallId: "c1", name: "vision", content: '{"label":"cat"}' },
      { role: "tool", toolCallId: "c2", name: "lookup", content: "not found" },
    ]);
  });

  it("turns a result's content into one assistant message (tool call input is already a JSON string)", () => {
    expect(
      outputMessages([
        { type: "text", text: "Let me look." },
        { type: "tool-call", toolCallId: "c9", toolName: "search", input: '{"q":"x"}' },
      ]),
    ).toEqual([
      {
        role: "assistant",
        content: "Let me look.",
        toolCalls: [{ id: "c9", name: "search", arguments: '{"q":"x"}' }],
      },
    ]);
  });
});

describe("a streamed answer recorded as the generated one", () => {
  it("joins separate text blocks with the same newline (a responses answer with two message items)", () => {
    const content = [
      { type: "text", text: "first" },
      { type: "reasoning", text: "thinking" },
      { type: "text", text: "second" },
    ];
    const outcome = new StreamOutcome();
    for (const part of [
      { type: "stream-start", warnings: [] },
      { type: "text-start", id: "m1" },
      { type: "text-delta", id: "m1", delta: "fir" },
      { type: "text-delta", id: "m1", delta: "st" },
      { type: "text-end", id: "m1" },
      { type: "reasoning-start", id: "r1" },
      { type: "reasoning-delta", id: "r1", delta: "thinking" },
      { type: "reasoning-end", id: "r1" },
      { type: "text-start", id: "m2" },
      { type: "text-delta", id: "m2", delta: "second" },
      { type: "text-end", id: "m2" },
      { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: {} },
    ]) {
      outcome.observe(part);
    }
    expect(outcome.end("success").output).toEqual(outputMessages(content));
    expect(outputMessages(content)[0]!.content).toBe("first\nsecond");
  });
});
