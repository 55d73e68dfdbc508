// A Cloudflare Worker calling the model through each framework Tagalong wraps, streamed and not, with
// Tagalong created once at module scope with `waitUntil` from "cloudflare:workers", or with &hook=ctx
// created in the invocation with its ctx.waitUntil (the README's other way). Bundled by
// test/bundle.ts and run in workerd by miniflare.
//   GET /openai?user=U&stream=0|1|pipe   wrapOpenAI; `pipe` returns the stream as the response body
//   GET /ai-sdk?user=U&stream=0|1        tagalongMiddleware; a stream is returned as the response body
//   GET /langchain?user=U&stream=0|1     withTagalong(ChatOpenAI) and its callback handler; a stream is
//                                        returned as the response body

import { env, waitUntil } from "cloudflare:workers";
import { createOpenAI } from "@ai-sdk/openai";
import { ChatOpenAI } from "@langchain/openai";
import { tagalongFetch, tagalongMiddleware } from "@tagalong/ai-sdk";
import { createTagalong, promptLayer, type WaitUntil } from "@tagalong/core";
import { TagalongCallbackHandler, withTagalong } from "@tagalong/langchain";
import { tagalongOptions, wrapOpenAI } from "@tagalong/openai";
import { generateText, streamText, wrapLanguageModel } from "ai";
import OpenAI from "openai";

/** Tagalong and a client of each framework, sending the model calls to OPENAI_BASE_URL. */
function setUp(hook: WaitUntil) {
  const tagalong = createTagalong({
    destinations: [
      promptLayer({
        apiKey: env.PROMPTLAYER_API_KEY ?? "",
        baseURL: env.PROMPTLAYER_BASE_URL,
        backoffMs: 20,
        waitUntilMs: env.WAIT_UNTIL_MS === undefined ? undefined : Number(env.WAIT_UNTIL_MS),
      }),
    ],
    metadata: { environment: "workers" },
    waitUntil: hook,
    onError: (error) => console.error(`tagalong: ${error instanceof Error ? error.message : String(error)}`),
  });
  const apiKey = env.OPENAI_API_KEY;
  const baseURL = env.OPENAI_BASE_URL;
  const ChatModel = withTagalong(ChatOpenAI);
  return {
    openai: wrapOpenAI(new OpenAI({ apiKey, baseURL }), tagalong),
    aiModel: wrapLanguageModel({
      model: createOpenAI({ apiKey, baseURL, fetch: tagalongFetch() }).chat("gpt-4o-mini"),
      middleware: tagalongMiddleware(tagalong),
    }),
    chat: new ChatModel({
      model: "gpt-4o-mini",
      apiKey,
      configuration: { baseURL },
      callbacks: [new TagalongCallbackHandler(tagalong)],
    }),
  };
}

/** Created once at module scope, as the README shows. */
const moduleScope = setUp(waitUntil);

/** A response whose body is the text chunks, read as the client reads; a client gone ends the reading. */
function streamed(chunks: AsyncIterable<string>): Response {
  const encoder = new TextEncoder();
  const reading = chunks[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await reading.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await reading.return?.();
    },
  });
  return new Response(body, { headers: { "content-type": "text/plain" } });
}

async function* openaiText(
  stream: AsyncIterable<{ choices: { delta?: { content?: string | null } }[] }>,
): AsyncIterable<string> {
  for await (const chunk of stream) yield chunk.choices[0]?.delta?.content ?? "";
}

async function answer(url: URL, { openai, aiModel, chat }: ReturnType<typeof setUp>): Promise<Response> {
  const user = url.searchParams.get("user") ?? "anonymous";
  const stream = url.searchParams.get("stream") ?? "0";
  const prompt = `hello from ${user}`;
  const meta = { user, session: `s_${user}` };
  switch (url.pathname) {
    case "/openai": {
      if (stream === "0") {
        const completion = await openai.chat.completions.create(
          { model: "gpt-4o-mini", messages: [{ role: "user", content: prompt }] },
          tagalongOptions(meta),
        );
        return new Response(completion.choices[0]?.message.content ?? "");
      }
      const chunks = await openai.chat.completions.create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: prompt }], stream: true },
        tagalongOptions(meta),
      );
      if (stream === "pipe") return streamed(openaiText(chunks));
      let text = "";
      for await (const piece of openaiText(chunks)) text += piece;
      return new Response(text);
    }
    case "/ai-sdk": {
      const providerOptions = { tagalong: meta };
      if (stream === "0") {
        const { text } = await generateText({ model: aiModel, prompt, providerOptions });
        return new Response(text);
      }
      return streamText({ model: aiModel, prompt, providerOptions }).toTextStreamResponse();
    }
    case "/langchain": {
      const config = { metadata: { tagalong: meta } };
      if (stream === "0") return new Response(String((await chat.invoke(prompt, config)).content));
      const chunks = await chat.stream(prompt, config);
      return streamed(
        (async function* () {
          for await (const chunk of chunks) yield String(chunk.content);
        })(),
      );
    }
    default:
      return new Response("not found", { status: 404 });
  }
}

export default {
  async fetch(request: Request, _env: unknown, ctx: { waitUntil: WaitUntil }): Promise<Response> {
    const url = new URL(request.url);
    const perInvocation = url.searchParams.get("hook") === "ctx";
    return answer(url, perInvocation ? setUp((promise) => ctx.waitUntil(promise)) : moduleScope);
  },
};
