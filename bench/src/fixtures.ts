// What every scenario shares: the metadata each call carries, Tagalong instances, and canned model
// replies for the in-process setting (captured once from the recorder, replayed without I/O).
import {
  createTagalong,
  type Destination,
  type Logger,
  type Metadata,
  portkey,
  promptLayer,
  requesty,
  type Tagalong,
  type TagalongOptions,
} from "@tagalong/core";

export const MODEL_KEY = "sk-bench-model-key";
export const PROMPTLAYER_KEY = "pl_bench_key_0123456789";

export const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** The user of call `i`; also named in its message, so the server can tell mixed-up metadata. */
export const userOf = (i: number): string => `u_${i % 1000}`;

export const userMessage = (i: number): string => `hello from ${userOf(i)}`;

/** Per-call metadata: distinct objects, so no cache can hide the work. */
export function perCallMetadata(i: number): Metadata {
  return { user: userOf(i), session: `s_${i % 64}`, tags: ["bench"], extra: { attempt: i % 3 } };
}

/** The metadata a busy app might carry on every call (every field), for the encoding benchmarks. */
export function fullMetadata(i: number, extraKeys = 3): Metadata {
  const extra: Record<string, string | number | boolean> = {};
  for (let k = 0; k < extraKeys; k++)
    extra[`key_${k}`] = k % 3 === 0 ? `value_${i}_${k}` : k % 3 === 1 ? i + k : k % 2 === 0;
  return {
    user: userOf(i),
    session: `session_${i % 64}`,
    trace: `trace_${i}`,
    organization: "acme",
    tags: ["checkout", `variant_${i % 4}`],
    prompt: { name: "answer", version: 3, variables: { city: "Paris" } },
    extra,
  };
}

/** A destination that takes completed calls and drops them: the cost of recording without any I/O. */
export const recordingSink = (): Destination => ({ name: "bench-sink", record() {} });

export function tagalong(destinations: Destination[], options: Partial<TagalongOptions> = {}): Tagalong {
  return createTagalong({
    destinations,
    metadata: { environment: "bench" },
    logger: silent,
    onError: () => {},
    ...options,
  });
}

/** Portkey + Requesty: what is added on the caller's path. */
export const inFlightTagalong = (): Tagalong => tagalong([portkey(), requesty()]);

/** Portkey + Requesty, and completed calls recorded to a sink (no I/O). */
export const recordingTagalong = (): Tagalong => tagalong([portkey(), requesty(), recordingSink()]);

export const promptLayerTagalong = (baseURL: string, extra: Destination[] = []): Tagalong =>
  tagalong([...extra, promptLayer({ apiKey: PROMPTLAYER_KEY, baseURL })]);

export interface CannedReply {
  body: string;
  headers: Record<string, string>;
}

export interface CannedReplies {
  plain: CannedReply;
  stream: CannedReply;
}

/** One chat completion from the recorder, plain and streamed, to replay in process. */
export async function captureReplies(openaiBaseURL: string): Promise<CannedReplies> {
  const fetchOne = async (stream: boolean): Promise<CannedReply> => {
    const res = await fetch(`${openaiBaseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${MODEL_KEY}` },
      body: JSON.stringify({
        model: "canned",
        messages: [{ role: "user", content: userMessage(0) }],
        ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
      }),
    });
    return {
      body: await res.text(),
      headers: { "content-type": res.headers.get("content-type") ?? "", "x-request-id": "req_canned" },
    };
  };
  return { plain: await fetchOne(false), stream: await fetchOne(true) };
}

/**
 * A fetch that answers every chat completion with the canned reply, without I/O, so that the only
 * difference between two clients is what their wrappers do.
 */
export function cannedFetch(replies: CannedReplies): typeof fetch {
  return (async (_input: unknown, init?: RequestInit) => {
    const body = typeof init?.body === "string" ? init.body : "";
    // Reading the request body is what a real transport does too (it has to send it).
    const reply = body.includes('"stream":true') ? replies.stream : replies.plain;
    return new Response(reply.body, { status: 200, headers: reply.headers });
  }) as typeof fetch;
}
