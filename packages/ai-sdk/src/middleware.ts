import { TagalongError } from "@tagalong/core";
import { type Tagalong, warnOnce as warnOnceTo } from "@tagalong/core/adapter";
import { callHooks } from "./call-hooks";
import { tagCallParams } from "./call-params";
import { type CallState, claim } from "./call-state";
import type { CallParams, EmbedResult, GenerateResult, ModelInfo, StreamResult } from "./spec";

/**
 * A language model middleware for `wrapLanguageModel` / `wrapProvider` of ai 5, 6 and 7, and an
 * embedding model middleware for `wrapEmbeddingModel` of ai 6 and 7. One plain object
 * carries what each major needs: ai 6 requires `specificationVersion: 'v3'`, ai 7 accepts any version
 * string (and adapts V2/V3 models), ai 5 ignores it. The hooks are generic over each major's call
 * options and results, so the object is assignable to `LanguageModelV2Middleware`, ai 6's
 * `LanguageModelMiddleware` (V3) and ai 7's `LanguageModelMiddleware` (V4).
 */
export interface TagalongMiddleware {
  readonly specificationVersion: "v3";
  readonly transformParams: <P extends CallParams>(options: {
    /** Absent for an embedding model. */
    type?: "generate" | "stream";
    params: P;
    model: ModelInfo;
  }) => PromiseLike<P>;
  /** Records the call (when a destination wants completed calls) and checks its body fields reached the wire. */
  readonly wrapGenerate: <R extends GenerateResult>(options: {
    doGenerate: () => PromiseLike<R>;
    params: CallParams;
    model: ModelInfo;
  }) => Promise<R>;
  /** As wrapGenerate, for streams: recorded when the stream ends, errors or is cancelled. */
  readonly wrapStream: <R extends StreamResult>(options: {
    doStream: () => PromiseLike<R>;
    params: CallParams;
    model: ModelInfo;
  }) => Promise<R>;
  /** As wrapGenerate, for an embedding model (`wrapEmbeddingModel`, ai 6 and 7): recorded as an `embeddings` call. */
  readonly wrapEmbed: <R extends EmbedResult>(options: {
    doEmbed: () => PromiseLike<R>;
    params: CallParams;
    model: ModelInfo;
  }) => Promise<R>;
}

/**
 * Attaches Tagalong metadata to every call of a wrapped model:
 * `wrapLanguageModel({ model, middleware: tagalongMiddleware(tagalong) })`. Per call, pass
 * `providerOptions: tagalongOptions({ user: "u_42" })` (typed); it is merged over the scope and the defaults,
 * checked and removed before the provider sees the options. In-flight headers go on the request;
 * body fields go through the provider's options (`@ai-sdk/openai-compatible`, `@requesty/ai-sdk`) or
 * `tagalongFetch` (`@ai-sdk/openai`, `@ai-sdk/azure`); a provider whose requests did not go through
 * `tagalongFetch` is named in a one-time warning. When an after-the-call destination is configured,
 * every finished call, generated or streamed, is recorded off the caller's path.
 * @example
 * import { openai } from "@ai-sdk/openai";
 * import { tagalongMiddleware, tagalongOptions } from "@tagalong/ai-sdk";
 * import { createTagalong, portkey } from "@tagalong/core";
 * import { generateText, wrapLanguageModel } from "ai";
 *
 * const tagalong = createTagalong({ destinations: [portkey()] });
 * const model = wrapLanguageModel({ model: openai("gpt-4o-mini"), middleware: tagalongMiddleware(tagalong) });
 * await generateText({ model, prompt: "Hi", providerOptions: tagalongOptions({ user: "u_42" }) });
 */
export function tagalongMiddleware(tagalong: Tagalong): TagalongMiddleware {
  if (typeof tagalong?.prepare !== "function" || typeof tagalong.record !== "function") {
    throw new TagalongError("tagalongMiddleware: expected a Tagalong (from createTagalong) as its argument");
  }
  const warnOnce = warnOnceTo(tagalong.logger);
  const hooks = callHooks(tagalong, warnOnce);
  const recording = tagalong.recordsCalls;
  /** The call, when its hook has work: recording it, or checking its filed body fields reached the wire. */
  const take = (params: CallParams): CallState | undefined => {
    const state = claim(params);
    return state !== undefined && (recording || state.filed !== undefined) ? state : undefined;
  };
  return {
    specificationVersion: "v3",
    transformParams: async ({ params, model }) => tagCallParams(tagalong, params, model, warnOnce),
    wrapGenerate: ({ doGenerate, params, model }) => {
      const state = take(params);
      return state === undefined
        ? Promise.resolve(doGenerate())
        : hooks.generate(state, doGenerate, params, model);
    },
    wrapStream: ({ doStream, params, model }) => {
      const state = take(params);
      return state === undefined ? Promise.resolve(doStream()) : hooks.stream(state, doStream, params, model);
    },
    wrapEmbed: ({ doEmbed, params, model }) => {
      const state = take(params);
      return state === undefined ? Promise.resolve(doEmbed()) : hooks.embed(state, doEmbed, params, model);
    },
  };
}
