// A Cloudflare Worker set up the way the README tells users to: Tagalong created once at module scope
// with `waitUntil` from "cloudflare:workers", so every queued delivery keeps the invocation alive after
// the response has gone. Bundled by test/worker.ts and run in workerd by miniflare.
//   GET /chat?user=U&via=scope   the call inside withMetadata, across an await (needs AsyncLocalStorage)
//   GET /chat?user=U&via=call    per-call metadata with tagalongOptions (works in every runtime)
//   GET /errors                  what onError was told so far in this isolate
//   GET /shutdown?timeoutMs=N    tagalong.shutdown({ timeoutMs: N }) from this invocation

import { env, waitUntil } from "cloudflare:workers";
import {
  createTagalong,
  currentMetadata,
  portkey,
  promptLayer,
  requesty,
  scopesFollowAsync,
  withMetadata,
} from "@tagalong/core";
import { tagalongOptions, wrapOpenAI } from "@tagalong/openai";
import OpenAI from "openai";

/** What onError was told in this isolate, for GET /errors. */
const errors: string[] = [];

const tagalong = createTagalong({
  destinations: [
    portkey(),
    requesty(),
    promptLayer({
      apiKey: env.PROMPTLAYER_API_KEY ?? "",
      baseURL: env.PROMPTLAYER_BASE_URL,
      backoffMs: 20,
      // The test's two-invocation case narrows the shared queue to one slot.
      concurrency: Number(env.DELIVERY_CONCURRENCY ?? 4),
      // The test of a probe handed on between invocations shortens the waitUntil deadline.
      waitUntilMs: env.WAIT_UNTIL_MS === undefined ? undefined : Number(env.WAIT_UNTIL_MS),
      // The test of a probe's timer left by an invocation that ended gives up after one attempt.
      maxAttempts: env.MAX_ATTEMPTS === undefined ? undefined : Number(env.MAX_ATTEMPTS),
    }),
  ],
  metadata: { environment: "workers" },
  // The test's control case turns this off, to show what is lost without it.
  waitUntil: env.TAGALONG_WAIT_UNTIL === "off" ? undefined : waitUntil,
  onError: (error) => {
    const message = error instanceof Error ? error.message : String(error);
    errors.push(message);
    console.error(`tagalong: ${message}`);
  },
});

const openai = wrapOpenAI(new OpenAI({ apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL }), tagalong);

const ask = (user: string, options?: Parameters<typeof openai.chat.completions.create>[1]) =>
  openai.chat.completions.create(
    { model: "gpt-4o-mini", messages: [{ role: "user", content: `hello from ${user}` }] },
    options,
  );

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/errors") return Response.json(errors);
    if (url.pathname === "/shutdown") {
      await tagalong.shutdown({ timeoutMs: Number(url.searchParams.get("timeoutMs")) });
      return new Response("shut down");
    }
    const user = url.searchParams.get("user") ?? "anonymous";
    const via = url.searchParams.get("via");
    let seenAfterAwait: string | null = null;
    const completion =
      via === "scope"
        ? await withMetadata({ user, session: `s_${user}` }, async () => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            seenAfterAwait = currentMetadata().user ?? null;
            return ask(user);
          })
        : await ask(user, tagalongOptions({ user, session: `s_${user}` }));
    // ?flush=1: the handler also awaits tagalong.flush() before answering (as under flushAfter).
    if (url.searchParams.get("flush") === "1") await tagalong.flush();
    return Response.json({
      id: completion.id,
      text: completion.choices[0]?.message.content,
      scopesFollowAsync: scopesFollowAsync(),
      seenAfterAwait,
    });
  },
};
