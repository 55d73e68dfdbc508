// The packages/ai-sdk README's first example, up to its `model`.
import { openai } from "@ai-sdk/openai";
import { tagalongMiddleware, tagalongOptions } from "@tagalong/ai-sdk";
import { createTagalong, portkey, withMetadata } from "@tagalong/core";
import { generateText, wrapLanguageModel } from "ai";

const tagalong = createTagalong({ destinations: [portkey()], metadata: { environment: "production" } });
const model = wrapLanguageModel({ model: openai("gpt-4o-mini"), middleware: tagalongMiddleware(tagalong) });
const prompt = "Find me a hotel in Lisbon";
