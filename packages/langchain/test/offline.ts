import { afterAll, beforeAll, expect } from "vitest";

/**
 * A byte-level stand-in for tiktoken's encodings (every byte its own token). ChatOpenAI estimates
 * token usage with tiktoken data it downloads from tiktoken.pages.dev (with `streaming: true`, for
 * example); offline that costs retries and a console warning, so the tests serve this instead.
 */
function byteLevelEncoding(): { pat_str: string; special_tokens: Record<string, number>; bpe_ranks: string } {
  const tokens = Array.from({ length: 256 }, (_, byte) => Buffer.from([byte]).toString("base64"));
  return { pat_str: "\\S+|\\s+", special_tokens: {}, bpe_ranks: `! 0 ${tokens.join(" ")}` };
}

function urlOf(input: unknown): URL {
  if (typeof input === "string") return new URL(input);
  if (input instanceof URL) return input;
  return new URL((input as Request).url);
}

/**
 * For the test file: the global fetch reaches loopback only. Tiktoken's download is answered
 * locally and any other request fails and fails the file, so a test cannot quietly go online.
 */
export function useOffline(): void {
  const blocked: string[] = [];
  let original: typeof fetch;
  beforeAll(() => {
    original = globalThis.fetch;
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = urlOf(input);
      if (url.hostname === "127.0.0.1" || url.hostname === "localhost") return original(input, init);
      if (url.hostname === "tiktoken.pages.dev") return Response.json(byteLevelEncoding());
      blocked.push(url.href);
      throw new TypeError(`offline test: blocked ${url.href}`);
    }) as typeof fetch;
  });
  afterAll(() => {
    globalThis.fetch = original;
    expect(blocked).toEqual([]);
  });
}
