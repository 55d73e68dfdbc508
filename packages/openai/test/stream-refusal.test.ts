// A refusal cut short: a streamed answer that stops while the model is refusing (the connection
// breaks, the caller aborts, or the caller leaves the loop) is recorded with the refusal so far, from
// Chat Completions and from the Responses API alike, and reaches PromptLayer with it. A loopback
// server sends the refusal's first deltas and then holds the stream open (or breaks it); PromptLayer
// is the loopback recorder's. openai 7 needs Node 22.
import { promptLayer } from "@tagalong/core";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { MODEL, recordingClient, useLoopbackServer, useRecorder } from "./helpers";
import { type ClientClass, MAJORS, nodeMajor } from "./sdk-majors";

const PL_KEY = "pl_test_key_openai_refusal_0123";
const recorder = useRecorder({ promptLayerApiKey: PL_KEY });

const REFUSAL = ["I'm sorry, ", "but I can't ", "help with"];

/** How the server ends the stream after the refusal's first deltas: held open, or the connection broken. */
let ending: "hold" | "break" = "hold";

const chatHead = { id: "chatcmpl-r1", object: "chat.completion.chunk", created: 1, model: MODEL };
const chatEvents = [
  {
    data: {
      ...chatHead,
      choices: [{ index: 0, delta: { role: "assistant", refusal: "" }, finish_reason: null }],
    },
  },
  ...REFUSAL.map((delta) => ({
    data: { ...chatHead, choices: [{ index: 0, delta: { refusal: delta }, finish_reason: null }] },
  })),
];

const response = {
  id: "resp_r1",
  object: "response",
  created_at: 1,
  model: MODEL,
  status: "in_progress",
  output: [],
};
const where = { item_id: "msg_r1", output_index: 0 };
const responsesEvents = [
  { event: "response.created", data: { type: "response.created", response } },
  { event: "response.in_progress", data: { type: "response.in_progress", response } },
  {
    event: "response.output_item.added",
    data: {
      type: "response.output_item.added",
      output_index: 0,
      item: { id: "msg_r1", type: "message", role: "assistant", status: "in_progress", content: [] },
    },
  },
  {
    event: "response.content_part.added",
    data: {
      type: "response.content_part.added",
      ...where,
      content_index: 0,
      part: { type: "refusal", refusal: "" },
    },
  },
  ...REFUSAL.map((delta) => ({
    event: "response.refusal.delta",
    data: { type: "response.refusal.delta", ...where, content_index: 0, delta },
  })),
].map((e, sequence_number) => ({ event: e.event, data: { ...e.data, sequence_number } }));

const server = useLoopbackServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const events = req.url?.endsWith("/responses") ? responsesEvents : chatEvents;
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const e of events)
      res.write(`${"event" in e ? `event: ${e.event}\n` : ""}data: ${JSON.stringify(e.data)}\n\n`);
    // Let the events reach the client before the connection breaks.
    if (ending === "break") setTimeout(() => res.destroy(), 20);
  });
});

/** Whether an SDK event carries the refusal's last delta (a chat chunk's, or a Responses event's). */
const lastDelta = (event: any): boolean =>
  (event?.choices?.[0]?.delta?.refusal ?? event?.delta) === REFUSAL[REFUSAL.length - 1];

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode)("a refusal cut short", () => {
    let OpenAIClass: ClientClass;
    beforeAll(async () => {
      OpenAIClass = await major.load();
    });
    const setup = () =>
      recordingClient(OpenAIClass, server.baseURL, {
        destinations: [
          promptLayer({
            apiKey: PL_KEY,
            baseURL: recorder.rec.promptLayerURL,
            backoffMs: 5,
            timeoutMs: 2000,
          }),
        ],
      });

    const apis = {
      "Chat Completions": (client: ReturnType<typeof setup>["client"], signal?: AbortSignal) =>
        client.chat.completions.create(
          { model: MODEL, messages: [{ role: "user", content: "Do the bad thing" }], stream: true },
          { signal },
        ),
      "the Responses API": (client: ReturnType<typeof setup>["client"], signal?: AbortSignal) =>
        client.responses.create({ model: MODEL, input: "Do the bad thing", stream: true }, { signal }),
    };

    describe.each(Object.keys(apis) as Array<keyof typeof apis>)("%s", (api) => {
      it.each([
        ["the caller leaves the loop", "hold", "aborted"],
        ["the caller aborts", "hold", "aborted"],
        ["the connection breaks", "break", "error"],
      ] as const)("the refusal so far is recorded when %s", async (how, end, status) => {
        ending = end;
        const { client, recorded, errors, tagalong } = setup();
        const abort = new AbortController();
        const stream = await apis[api](client, abort.signal);
        let seen = false;
        try {
          for await (const event of stream as AsyncIterable<unknown>) {
            if (!lastDelta(event)) continue;
            seen = true;
            if (how === "the caller leaves the loop") break;
            if (how === "the caller aborts") abort.abort();
          }
        } catch {
          // The broken connection (or, in some majors, the abort) reaches the caller as an error.
        }
        expect(seen).toBe(true);
        await vi.waitFor(() => expect(recorded.calls).toHaveLength(1));
        // Delivered before any assertion, so a failing one leaves no log behind for the next test.
        await tagalong.flush();
        const call = recorded.calls[0]!;
        expect(call.status).toBe(status);
        expect(call.output).toEqual([{ role: "assistant", content: REFUSAL.join("") }]);
        const logs = recorder.rec.promptLayer.logs();
        expect(logs).toHaveLength(1);
        expect(logs[0]!.body.output.messages).toEqual([
          { role: "assistant", content: [{ type: "text", text: REFUSAL.join("") }] },
        ]);
        expect(errors).toEqual([]);
        await tagalong.shutdown();
      });
    });
  });
});
