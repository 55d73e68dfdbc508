import { describe, expect, it } from "vitest";
import { streamAccumulator } from "./stream-output";

const data = (value: unknown) => ({ event: undefined, data: JSON.stringify(value) });

describe("streamAccumulator", () => {
  it("chat: sums content and tool-call deltas per choice and index, keeps usage, completes at [DONE]", () => {
    const acc = streamAccumulator("chat-completions");
    const head = { id: "c1", model: "m", object: "chat.completion.chunk" };
    acc.push(data({ ...head, choices: [{ index: 0, delta: { role: "assistant", content: "He" } }] }));
    acc.push(data({ ...head, choices: [{ index: 1, delta: { content: "Yo" } }] }));
    acc.push(data({ ...head, choices: [{ index: 0, delta: { content: "llo" }, finish_reason: "stop" }] }));
    acc.push(
      data({
        ...head,
        choices: [
          {
            index: 1,
            delta: { tool_calls: [{ index: 0, id: "t1", function: { name: "f", arguments: '{"a"' } }] },
          },
        ],
      }),
    );
    acc.push(
      data({
        ...head,
        choices: [{ index: 1, delta: { tool_calls: [{ index: 0, function: { arguments: ":1}" } }] } }],
      }),
    );
    expect(acc.result().complete).toBe(false);
    acc.push(data({ ...head, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } }));
    acc.push({ event: undefined, data: "[DONE]" });
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

  it("chat: an error in the stream is the result's error", () => {
    const acc = streamAccumulator("chat-completions");
    acc.push(data({ error: { type: "server_error", message: "boom" } }));
    expect(acc.result()).toMatchObject({
      response: undefined,
      error: { type: "server_error", message: "boom" },
    });
  });

  it("responses: the final event's response, or finished items and partial text until then", () => {
    const acc = streamAccumulator("responses");
    acc.push(data({ type: "response.created", response: { id: "r1", model: "m", output: [] } }));
    acc.push(
      data({
        type: "response.output_item.done",
        output_index: 0,
        item: { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
      }),
    );
    acc.push(data({ type: "response.output_text.delta", output_index: 1, delta: "Hal" }));
    acc.push(data({ type: "response.output_text.delta", output_index: 1, delta: "f" }));
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
    acc.push(data({ type: "response.completed", response: final }));
    expect(acc.result()).toEqual({ response: final, error: undefined, complete: true });
  });
});
