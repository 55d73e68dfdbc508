import type { Recorder } from "@tagalong/testing";
import type { Miniflare } from "miniflare";

/**
 * A bundled Worker `script` started in workerd by miniflare, with the bindings the test Workers read:
 * the model and PromptLayer both on the loopback recorder `rec`, and `bindings` over them.
 */
export async function startMiniflare(
  script: string,
  rec: Recorder,
  compatibilityFlags: string[],
  bindings: Record<string, string> = {},
): Promise<Miniflare> {
  const { Miniflare } = await import("miniflare");
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2025-09-01",
    compatibilityFlags,
    // A placeholder `request.cf`: the default fetches the real one from Cloudflare.
    cf: false,
    bindings: {
      OPENAI_API_KEY: "sk-test-workers",
      OPENAI_BASE_URL: rec.openaiBaseURL,
      PROMPTLAYER_API_KEY: "pl_test_workers",
      PROMPTLAYER_BASE_URL: rec.promptLayerURL,
      ...bindings,
    },
  });
  await mf.ready;
  return mf;
}

/** The PromptLayer log of `user`'s call, if it has arrived. */
export const logFor = (rec: Recorder, user: string) =>
  rec.promptLayer.logs().find((l) => l.metadata.user_id === user);

/** How many PromptLayer log requests the recorder holds unanswered (a hang rule). */
export const hungLogRequests = (rec: Recorder): number =>
  rec.promptLayer.requests().filter((r) => r.path === "/log-request" && r.outcome === "hung").length;
