import { createTagalong, portkey, promptLayer, requesty, type Tagalong } from "@tagalong/core";

/** What the test hands a run inside the VM. */
export interface EdgeRunConfig {
  openaiBaseURL: string;
  promptLayerURL: string;
  user: string;
}

/** What a run reports back: the answer's text and whether scopes follow async work in that realm. */
export interface EdgeRunResult {
  text: string;
  scopesFollowAsync: boolean;
}

export const API_KEY = "sk-test-edge";

/** Every kind of destination: in-flight headers and body fields, and PromptLayer after the call. */
export function edgeTagalong(config: EdgeRunConfig): Tagalong {
  return createTagalong({
    destinations: [
      portkey(),
      requesty(),
      promptLayer({ apiKey: "pl_test_edge", baseURL: config.promptLayerURL }),
    ],
    metadata: { environment: "edge" },
  });
}
