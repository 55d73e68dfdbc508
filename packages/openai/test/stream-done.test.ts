// Where a streamed answer ends: the SDK ends its stream at `[DONE]` and reads no event after it, and
// openai 5 and 6 take any data beginning with `[DONE]` for it (openai 7 only `[DONE]` itself: to it,
// `[DONE] ` is an event that is not JSON, which it throws a SyntaxError for). A call whose stream the
// SDK reads as it came (its events watched) and one whose bytes are read through an observed copy (a
// custom fetch froze the response) are recorded alike, as the SDK ended the stream. A loopback server
// sends the events. openai 7 needs Node 22.
import type { CompletedCall } from "@tagalong/core/destination";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { MODEL, recordingClient, useLoopbackServer } from "./helpers";
import { type ClientClass, MAJORS, nodeMajor } from "./sdk-majors";

/** The data the server ends the answer with, before the events that follow it. */
let doneData = "[DONE]";

const head = { id: "chatcmpl-d1", object: "chat.completion.chunk", created: 1, model: MODEL };
const chunk = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ ...head, choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;

/** Raw SSE the server sends after the answer's first delta (none unless a test sets it). */
let between = "";

const response = { id: "resp_d1", object: "response", created_at: 1, model: MODEL };
const responsesEvent = (type: string, fields: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
const delta = (text: string) =>
  responsesEvent("response.output_text.delta", {
    item_id: "msg_1",
    output_index: 0,
    content_index: 0,
    delta: text,
  });

const server = useLoopbackServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/event-stream" });
    if (req.url?.endsWith("/responses")) {
      const item = { id: "msg_1", type: "message", role: "assistant", status: "in_progress", content: [] };
      res.write(
        responsesEvent("response.created", { response: { ...response, status: "in_progress", output: [] } }) +
          responsesEvent("response.output_item.added", { output_index: 0, item }) +
          delta("Hel") +
          between,
      );
      const content = [{ type: "output_text", text: "Hello", annotations: [] }];
      const done = { ...response, status: "completed", output: [{ ...item, status: "completed", content }] };
      res.end(delta("lo") + responsesEvent("response.completed", { response: done }));
      return;
    }
    // No finish_reason before the end: the end alone says the answer is whole.
    res.write(chunk("Hel") + between + chunk("lo"));
    res.end(`data: ${doneData}\n\n${chunk(" and more", "stop")}data: [DONE]\n\n`);
  });
});

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode)("where a stream ends", () => {
    let OpenAIClass: ClientClass;
    beforeAll(async () => {
      OpenAIClass = await major.load();
    });

    /** A streamed chat call read to its end, as the SDK reads it or through an observed copy of its bytes. */
    async function streamed(how: "events" | "bytes", api: "chat" | "responses" = "chat") {
      const { client, recorded, errors } = recordingClient(OpenAIClass, server.baseURL, {
        client: how === "bytes" ? { fetch: async (url, init) => Object.freeze(await fetch(url, init)) } : {},
      });
      let text = "";
      let thrown: unknown;
      try {
        if (api === "responses") {
          const stream = await client.responses.create({ model: MODEL, input: "Say hello", stream: true });
          for await (const event of stream)
            if (event.type === "response.output_text.delta") text += event.delta;
        } else {
          const stream = await client.chat.completions.create({
            model: MODEL,
            messages: [{ role: "user", content: "Say hello" }],
            stream: true,
          });
          for await (const event of stream) text += event.choices[0]?.delta?.content ?? "";
        }
      } catch (error) {
        thrown = error;
      }
      await vi.waitFor(() => expect(recorded.calls).toHaveLength(1));
      await new Promise((r) => setTimeout(r, 20));
      expect(recorded.calls).toHaveLength(1);
      expect(errors).toEqual([]);
      return { text, thrown, call: recorded.calls[0]! };
    }

    /** What a record says of the answer. */
    const answer = (call: CompletedCall) => ({
      status: call.status,
      output: call.output,
      error: call.error?.type,
    });

    it.each(["chat", "responses"] as const)(
      "%s: an event with an event: line and no data: line is not JSON to the SDK, which throws there; recorded so from its events and from its bytes alike",
      async (api) => {
        doneData = "[DONE]";
        between = "event: ping\n\n";
        try {
          const [events, bytes] = [await streamed("events", api), await streamed("bytes", api)];
          for (const [how, { text, thrown, call }] of [
            ["events", events],
            ["bytes", bytes],
          ] as const) {
            expect(text, how).toBe("Hel");
            expect(thrown, how).toBeInstanceOf(SyntaxError);
            expect(call.status, how).toBe("error");
            expect(call.error, how).toEqual({ type: "SyntaxError", message: (thrown as Error).message });
          }
          expect(answer(bytes.call)).toEqual(answer(events.call));
        } finally {
          between = "";
        }
      },
    );

    it("at [DONE]: the events after it are in neither the answer nor its record", async () => {
      doneData = "[DONE]";
      for (const how of ["events", "bytes"] as const) {
        const { text, thrown, call } = await streamed(how);
        expect(thrown).toBeUndefined();
        expect(text).toBe("Hello");
        expect(answer(call), how).toEqual({
          status: "success",
          output: [{ role: "assistant", content: "Hello" }],
          error: undefined,
        });
      }
    });

    it("at data beginning with [DONE], as this major's SDK reads it, from its events and from its bytes alike", async () => {
      doneData = "[DONE] ";
      const sdkEnds = major.name !== "openai 7";
      for (const how of ["events", "bytes"] as const) {
        const { text, thrown, call } = await streamed(how);
        expect(text).toBe("Hello");
        if (sdkEnds) {
          expect(thrown).toBeUndefined();
          expect(answer(call), how).toEqual({
            status: "success",
            output: [{ role: "assistant", content: "Hello" }],
            error: undefined,
          });
        } else {
          // openai 7: an event that is not JSON, thrown for; what had arrived is kept.
          expect(thrown).toBeInstanceOf(SyntaxError);
          expect(call.error?.message, how).toBe((thrown as Error).message);
          expect(answer(call), how).toEqual({
            status: "error",
            output: [{ role: "assistant", content: "Hello" }],
            error: "SyntaxError",
          });
        }
      }
    });
  });
});
