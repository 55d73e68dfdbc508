import { judgeCloudflare, judgeHelicone, judgeLiteLLM, judgeOpenRouter } from "./gateway-judges";
import { judgePortkey, judgeRequesty, judgeWire } from "./judges";
import type { RecordedRequest } from "./types";

/** What `tagalong.prepare()` returns, as far as the wire is concerned. */
export interface PreparedForm {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readonly<Record<string, unknown>>;
}

/**
 * Every vendor rule the recorder's judges hold a request to, applied to a prepared form without a
 * server: the wire's own (ASCII headers, no lone surrogates, the header block's size) and Portkey's,
 * Requesty's, Helicone's, Cloudflare's, LiteLLM's and OpenRouter's. An empty list when every rule held.
 * Fast enough to judge a hundred thousand forms in a property test.
 */
export function judgePrepared(form: PreparedForm): string[] {
  const headers: Record<string, string> = {};
  const rawHeaders: string[] = [];
  for (const [name, value] of Object.entries(form.headers)) {
    headers[name.toLowerCase()] = value;
    rawHeaders.push(name, value);
  }
  // The body as it travels: JSON text, parsed back the way a receiver does.
  const rawBody = JSON.stringify(form.body);
  const body: unknown = JSON.parse(rawBody);
  const request = { headers, rawHeaders, rawBody, body } as RecordedRequest;
  return [
    ...judgeWire(request),
    ...judgePortkey(headers).violations,
    ...judgeRequesty(body).violations,
    ...judgeHelicone(headers).violations,
    ...judgeCloudflare(headers).violations,
    ...judgeLiteLLM(headers, body).violations,
    ...judgeOpenRouter(body).violations,
  ];
}
