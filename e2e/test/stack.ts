import type { Metadata } from "@tagalong/core";
import { createRecorder, type Recorder } from "@tagalong/testing";
import { gatewayRoute, type PortkeyGateway, startGateway } from "@tagalong/testing/portkey-gateway";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";

/** The real Portkey gateway on loopback with a recorder as its upstream model. */
export interface GatewayStack {
  gateway: PortkeyGateway;
  /** The upstream: what arrives here is what the gateway passed on. */
  upstream: Recorder;
  /** Headers that send a request through the gateway to `upstream`. */
  route: Record<string, string>;
  close(): Promise<void>;
}

export async function startGatewayStack(): Promise<GatewayStack> {
  const upstream = await createRecorder();
  let gateway: PortkeyGateway;
  try {
    gateway = await startGateway();
  } catch (error) {
    await upstream.close();
    throw error;
  }
  return {
    gateway,
    upstream,
    route: gatewayRoute(upstream.openaiBaseURL),
    async close() {
      await Promise.all([gateway.close(), upstream.close()]);
    },
  };
}

/**
 * For a describe block: loopback-only fetch, and a gateway stack started before its tests, with the
 * upstream's records cleared before each test and everything closed after. The object it returns is
 * filled in by the time the tests (and later beforeAll hooks) run.
 */
export function useGatewayStack(): GatewayStack {
  loopbackOnly();
  const stack = {} as GatewayStack;
  beforeAll(async () => {
    Object.assign(stack, await startGatewayStack());
  });
  afterAll(() => stack.close?.());
  beforeEach(() => stack.upstream.reset());
  return stack;
}

/** Metadata touching every field, with a non-ASCII user and organisation. */
export const METADATA: Metadata = {
  user: "Zoë 😀",
  session: "s_e2e",
  environment: "test",
  organization: "Ünïcorp",
  tags: ["e2e", "gateway"],
  prompt: { name: "welcome", version: 2 },
  extra: { team: "search", attempt: 2 },
};

/** METADATA as Portkey's `x-portkey-metadata` object, written out by hand from docs/metadata.md's table. */
export const PORTKEY_METADATA = {
  _user: "Zoë 😀",
  _environment: "test",
  _organisation: "Ünïcorp",
  _prompt: "welcome",
  session_id: "s_e2e",
  tags: "e2e,gateway",
  team: "search",
  attempt: "2",
};

/**
 * For a test file: the global fetch reaches loopback only, and any other request fails the file, so a
 * test cannot quietly go online (LangChain's ChatOpenAI, for one, fetches tiktoken data on some paths).
 */
export function loopbackOnly(): void {
  const blocked: string[] = [];
  let original: typeof fetch;
  beforeAll(() => {
    original = globalThis.fetch;
    globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : input);
      if (url.hostname === "127.0.0.1") return original(input, init);
      blocked.push(url.href);
      return Promise.reject(new TypeError(`e2e tests stay on loopback: blocked ${url.href}`));
    }) as typeof fetch;
  });
  afterAll(() => {
    globalThis.fetch = original;
    expect(blocked).toEqual([]);
  });
}
