// The promptlayer SDK, loaded on first use, by the sections that compare against it (vendors, delivery).
// Its dependency nunjucks leaves String.prototype in dictionary mode, and from then on string code of
// every library in the process runs slower (Tagalong's prepare() measured 40% slower with a charCodeAt
// loop on its path), so the overhead section, which runs first, measures the adapters without it.
import { createRequire } from "node:module";

interface PromptLayerSdk {
  PromptLayer: typeof import("promptlayer").PromptLayer;
  /** The openai version the SDK wraps (it does not declare openai: it gets whichever copy resolves). */
  openaiVersion: string;
}

let sdk: PromptLayerSdk | undefined;

export function promptLayerSdk(): PromptLayerSdk {
  if (sdk === undefined) {
    // Its ESM build cannot require("openai") (its `.OpenAI` getter fails there); its CommonJS build
    // can, so load that one, as a CommonJS app would.
    const require = createRequire(import.meta.url);
    const { PromptLayer } = require("promptlayer") as typeof import("promptlayer");
    const openaiVersion = (
      createRequire(require.resolve("promptlayer"))("openai/version") as { VERSION: string }
    ).VERSION;
    sdk = { PromptLayer, openaiVersion };
  }
  return sdk;
}
