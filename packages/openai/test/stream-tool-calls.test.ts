// Tool calls in streams, as servers send them and the SDK adds them up: what a streamed call's record
// holds, against what the SDK gave the caller (or what the same call unstreamed records). A loopback
// server answers each request with the events the test scripts. openai 7 needs Node 22.
import { createTagalong, portkey } from "@tagalong/core";
import type OpenAI from "openai";
import { beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { wrapOpenAI } from "../src/index";
import { API_KEY, MODEL, memory, useLoopbackServer } from "./helpers";
import { type ClientClass, MAJORS, nodeMajor } from "./sdk-majors";

/** What the server answers next: SSE events (`event` names the Responses API's), or a JSON body. */
let answer: { events: Array<{ event?: string; data: unknown }> } | { json: unknown } = { json: {} };

const server = useLoopbackServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if ("json" in answer) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer.json));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const { event, data } of answer.events)
      res.write(`${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`);
    res.end(answer.events.some((e) => e.event) ? undefined : "data: [DONE]\n\n");
  });
});
beforeEach(() => {
  answer = { json: {} };
});

const head = { id: "chatcmpl-t1", object: "chat.completion.chunk", created: 1, model: MODEL };
/** One chunk of a chat stream with one tool call's delta (the first chunk also says the role). */
const chatChunk = (
  toolCall: { index: number; id?: string; [key: string]: unknown },
  finish: string | null = null,
) => ({
  data: {
    ...head,
    choices: [
      {
        index: 0,
        delta: { ...(toolCall.id && { role: "assistant" }), tool_calls: [toolCall] },
        finish_reason: finish,
      },
    ],
  },
});
const messages = [{ role: "user" as const, content: "Weather in Paris?" }];
/** An unstreamed chat completion whose one choice's message carries `message` (tool calls), finished for `finish`. */
const completion = (finish: string, message: object) => ({
  json: {
    id: "chatcmpl-t0",
    object: "chat.completion",
    created: 1,
    model: MODEL,
    choices: [{ index: 0, finish_reason: finish, message: { role: "assistant", content: null, ...message } }],
  },
});

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode)("tool calls in streams", () => {
    let OpenAIClass: ClientClass;
    beforeAll(async () => {
      OpenAIClass = await major.load();
    });
    function setup() {
      const recorded = memory();
      const errors: unknown[] = [];
      const tagalong = createTagalong({
        destinations: [portkey(), recorded],
        onError: (e) => errors.push(e),
      });
      const client = wrapOpenAI(
        new OpenAIClass({ apiKey: API_KEY, baseURL: server.baseURL, maxRetries: 0 }),
        tagalong,
      );
      return { client, recorded, errors };
    }
    async function onlyRecord(recorded: ReturnType<typeof memory>) {
      await vi.waitFor(() => expect(recorded.calls.length).toBeGreaterThan(0));
      await new Promise((r) => setTimeout(r, 20));
      expect(recorded.calls).toHaveLength(1);
      return recorded.calls[0]!;
    }

    it("a chat tool call whose name comes again in later chunks is recorded with the name the SDK gives", async () => {
      // Some OpenAI-compatible servers repeat the function's name in every delta: the SDK sets it, never appends.
      answer = {
        events: [
          chatChunk({
            index: 0,
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: "" },
          }),
          chatChunk({ index: 0, function: { name: "get_weather", arguments: '{"city":' } }),
          chatChunk({ index: 0, function: { name: "get_weather", arguments: '"Paris"}' } }, "tool_calls"),
        ],
      };
      const { client, recorded, errors } = setup();
      const final = await client.chat.completions.stream({ model: MODEL, messages }).finalChatCompletion();
      const sdkCall = final.choices[0]!.message
        .tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
      expect(sdkCall.function).toEqual({ name: "get_weather", arguments: '{"city":"Paris"}' });
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({ status: "success", stream: true, finishReason: "tool_calls" });
      expect(call.output).toEqual([
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' }],
        },
      ]);
      expect(errors).toEqual([]);
    });

    it("a chat custom tool call is recorded with its name and input, streamed as unstreamed", async () => {
      const { client, recorded, errors } = setup();
      answer = completion("tool_calls", {
        tool_calls: [{ id: "call_1", type: "custom", custom: { name: "grep", input: "foo bar" } }],
      });
      await client.chat.completions.create({ model: MODEL, messages });
      const plain = await onlyRecord(recorded);
      const expected = [
        { role: "assistant", content: "", toolCalls: [{ id: "call_1", name: "grep", arguments: "foo bar" }] },
      ];
      expect(plain.output).toEqual(expected);

      recorded.calls.length = 0;
      answer = {
        events: [
          chatChunk({ index: 0, id: "call_1", type: "custom", custom: { name: "grep", input: "" } }),
          chatChunk({ index: 0, custom: { input: "foo " } }),
          chatChunk({ index: 0, custom: { input: "bar" } }, "tool_calls"),
        ],
      };
      const stream = await client.chat.completions.create({ model: MODEL, messages, stream: true });
      for await (const _ of stream);
      const streamed = await onlyRecord(recorded);
      expect(streamed).toMatchObject({ status: "success", stream: true, finishReason: "tool_calls" });
      expect(streamed.output).toEqual(expected);
      expect(errors).toEqual([]);
    });

    it("a chat function call of the deprecated `functions` is recorded as its tool call, streamed as unstreamed", async () => {
      const { client, recorded, errors } = setup();
      const functions = [{ name: "get_weather", parameters: { type: "object", properties: {} } }];
      answer = completion("function_call", {
        function_call: { name: "get_weather", arguments: '{"city":"Paris"}' },
      });
      await client.chat.completions.create({ model: MODEL, messages, functions });
      const plain = await onlyRecord(recorded);
      const expected = [
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: "", name: "get_weather", arguments: '{"city":"Paris"}' }],
        },
      ];
      expect(plain.output).toEqual(expected);

      recorded.calls.length = 0;
      const delta = (d: object, finish: string | null = null) => ({
        data: { ...head, choices: [{ index: 0, delta: d, finish_reason: finish }] },
      });
      answer = {
        events: [
          delta({ role: "assistant", function_call: { name: "get_weather", arguments: "" } }),
          delta({ function_call: { arguments: '{"city":' } }),
          delta({ function_call: { arguments: '"Paris"}' } }, "function_call"),
        ],
      };
      const final = await client.chat.completions
        .stream({ model: MODEL, messages, functions })
        .finalChatCompletion();
      expect(final.choices[0]!.message.function_call).toEqual({
        name: "get_weather",
        arguments: '{"city":"Paris"}',
      });
      const streamed = await onlyRecord(recorded);
      expect(streamed).toMatchObject({ status: "success", stream: true, finishReason: "function_call" });
      expect(streamed.output).toEqual(expected);
      expect(errors).toEqual([]);
    });

    it("a Responses stream left during its tool calls keeps them as they had arrived", async () => {
      const response = {
        id: "resp_t1",
        object: "response",
        created_at: 1,
        model: MODEL,
        status: "in_progress",
        output: [],
      };
      const fnItem = {
        type: "function_call",
        id: "fc_1",
        call_id: "call_1",
        name: "get_weather",
        status: "in_progress",
      };
      const customItem = { type: "custom_tool_call", id: "ct_1", call_id: "call_2", name: "grep" };
      const event = (data: { type: string; [key: string]: unknown }) => ({ event: data.type, data });
      answer = {
        events: [
          event({ type: "response.created", sequence_number: 0, response }),
          event({
            type: "response.output_item.added",
            sequence_number: 1,
            output_index: 0,
            item: { ...fnItem, arguments: "" },
          }),
          event({
            type: "response.function_call_arguments.delta",
            sequence_number: 2,
            output_index: 0,
            item_id: "fc_1",
            delta: '{"city":',
          }),
          event({
            type: "response.function_call_arguments.delta",
            sequence_number: 3,
            output_index: 0,
            item_id: "fc_1",
            delta: '"Paris"}',
          }),
          event({
            type: "response.output_item.added",
            sequence_number: 4,
            output_index: 1,
            item: { ...customItem, input: "" },
          }),
          event({
            type: "response.custom_tool_call_input.delta",
            sequence_number: 5,
            output_index: 1,
            item_id: "ct_1",
            delta: "foo",
          }),
        ],
      };
      const { client, recorded, errors } = setup();
      const stream = await client.responses.create({
        model: MODEL,
        input: "Weather in Paris?",
        stream: true,
      });
      const seen: unknown[] = [];
      for await (const e of stream) {
        seen.push(e);
        if (seen.length === 6) break;
      }
      const call = await onlyRecord(recorded);
      expect(call).toMatchObject({ status: "aborted", stream: true, responseId: "resp_t1" });
      expect(call.output).toEqual([
        {
          role: "assistant",
          content: "",
          toolCalls: [
            { id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
            { id: "call_2", name: "grep", arguments: "foo" },
          ],
        },
      ]);
      // The events the caller got are as the server sent them: nothing of ours was added up into them.
      expect((seen[1] as { item: { arguments: string } }).item.arguments).toBe("");
      expect(errors).toEqual([]);
    });
  });
});
