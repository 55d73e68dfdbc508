import { describe, expect, it } from "vitest";
import { SseDecoder } from "./sse";
import { sseEvents, streamAccumulator } from "./stream-output";

describe("streamAccumulator", () => {
  it("chat: sums content and tool-call deltas per choice and index, keeps usage, completes at [DONE]", () => {
    const acc = streamAccumulator("chat-completions");
    const head = { id: "c1", model: "m", object: "chat.completion.chunk" };
    acc.push({ ...head, choices: [{ index: 0, delta: { role: "assistant", content: "He" } }] });
    acc.push({ ...head, choices: [{ index: 1, delta: { content: "Yo" } }] });
    acc.push({ ...head, choices: [{ index: 0, delta: { content: "llo" }, finish_reason: "stop" }] });
    acc.push({
      ...head,
      choices: [
        {
          index: 1,
          delta: { tool_calls: [{ index: 0, id: "t1", function: { name: "f", arguments: '{"a"' } }] },
        },
      ],
    });
    acc.push({
      ...head,
      choices: [{ index: 1, delta: { tool_calls: [{ index: 0, function: { arguments: ":1}" } }] } }],
    });
    expect(acc.result().complete).toBe(false);
    acc.push({ ...head, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } });
    acc.done();
    const { response, complete } = acc.result();
    expect(complete).toBe(true);
    expect(response).toMatchObject({
      id: "c1",
      model: "m",
      usage: { prompt_tokens: 3, completion_tokens: 4 },
      choices: [
        { finish_reason: "stop", message: { content: "Hello" } },
        {
          finish_reason: null,
          message: {
            content: "Yo",
            tool_calls: [{ id: "t1", function: { name: "f", arguments: '{"a":1}' } }],
          },
        },
      ],
    });
  });

  it("chat: complete once every choice it opened has its finish_reason, before any [DONE]", () => {
    const acc = streamAccumulator("chat-completions");
    const head = { id: "c1", model: "m", object: "chat.completion.chunk" };
    expect(acc.result().complete).toBe(false);
    acc.push({
      ...head,
      choices: [
        { index: 0, delta: { content: "a" } },
        { index: 1, delta: { content: "b" } },
      ],
    });
    acc.push({ ...head, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    expect(acc.result().complete).toBe(false);
    acc.push({ ...head, choices: [{ index: 1, delta: {}, finish_reason: "length" }] });
    expect(acc.result().complete).toBe(true);
  });

  it("chat: an error in the stream is the result's error, as an event or as the error the SDK threw for it", () => {
    const acc = streamAccumulator("chat-completions");
    acc.push({ error: { type: "server_error", message: "boom" } });
    expect(acc.result()).toMatchObject({
      response: undefined,
      error: { type: "server_error", message: "boom" },
    });
    const thrown = streamAccumulator("chat-completions");
    thrown.fail({ code: "rate_limited", message: "slow down" });
    expect(thrown.result()).toMatchObject({ error: { type: "rate_limited", message: "slow down" } });
  });

  it("sseEvents: raw SSE events from the bytes, [DONE] included, add up as the parsed events do", () => {
    const acc = streamAccumulator("chat-completions");
    const decoder = new SseDecoder(sseEvents(acc, false).push);
    const chunk = { id: "c1", model: "m", choices: [{ index: 0, delta: { content: "Hi" } }] };
    decoder.push(new TextEncoder().encode(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`));
    decoder.end();
    expect(acc.result()).toMatchObject({
      complete: true,
      response: { id: "c1", choices: [{ message: { content: "Hi" } }] },
    });
  });

  it("sseEvents: as the SDK reads them, nothing after [DONE] (openai 5 and 6: data beginning with it) nor after data that is not JSON", () => {
    const chunk = (content: string) =>
      `data: ${JSON.stringify({ id: "c1", model: "m", choices: [{ index: 0, delta: { content } }] })}\n\n`;
    const read = (sse: string, openai7: boolean) => {
      const accumulator = streamAccumulator("chat-completions");
      const events = sseEvents(accumulator, openai7);
      const decoder = new SseDecoder(events.push);
      decoder.push(new TextEncoder().encode(sse));
      decoder.end();
      const { response, complete } = accumulator.result();
      return { text: response?.choices[0].message.content, complete, malformed: events.malformed };
    };
    const after = `${chunk("Hi")}data: [DONE] \n\n${chunk(" more")}`;
    expect(read(`${chunk("Hi")}data: [DONE]\n\n${chunk(" more")}`, true)).toEqual({
      text: "Hi",
      complete: true,
      malformed: undefined,
    });
    expect(read(after, false)).toEqual({ text: "Hi", complete: true, malformed: undefined });
    const seven = read(after, true);
    expect(seven).toMatchObject({ text: "Hi", complete: false });
    expect(seven.malformed).toEqual(
      new SyntaxError("Error reading response: malformed server-sent event JSON."),
    );
    // An event with a name and no data is one whose data ("") is not JSON; one with neither is none.
    for (const openai7 of [false, true]) {
      const named = read(`${chunk("Hi")}event: ping\n\n${chunk(" more")}`, openai7);
      expect(named).toMatchObject({ text: "Hi", complete: false });
      expect(named.malformed).toBeInstanceOf(SyntaxError);
      expect(read(`${chunk("Hi")}event:\nid: 1\n\n${chunk(" more")}`, openai7).text).toBe("Hi more");
    }
  });

  it("responses: the final event's response, or finished items and partial text until then", () => {
    const acc = streamAccumulator("responses");
    acc.push({ type: "response.created", response: { id: "r1", model: "m", output: [] } });
    acc.push({
      type: "response.output_item.done",
      output_index: 0,
      item: { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
    });
    acc.push({ type: "response.output_text.delta", output_index: 1, delta: "Hal" });
    acc.push({ type: "response.output_text.delta", output_index: 1, delta: "f" });
    expect(acc.result()).toEqual({
      response: {
        id: "r1",
        model: "m",
        output: [
          { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
          { type: "message", role: "assistant", content: [{ type: "output_text", text: "Half" }] },
        ],
      },
      error: undefined,
      complete: false,
    });
    const final = { id: "r1", model: "m", status: "completed", output: [] };
    acc.push({ type: "response.completed", response: final });
    expect(acc.result()).toEqual({ response: final, error: undefined, complete: true });
  });
});
