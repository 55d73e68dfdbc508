// A request PromptLayer already holds, logged the way PromptLayer's own SDK logs one (POST /log-request);
// `requestId` is what it answered. In the doc tests the recorder plays api.promptlayer.com.
import { promptLayerLogRequest } from "@tagalong/core";

const logged = await fetch("https://api.promptlayer.com/log-request", {
  method: "POST",
  headers: { "content-type": "application/json", "X-API-KEY": process.env.PROMPTLAYER_API_KEY! },
  body: JSON.stringify(
    promptLayerLogRequest({
      provider: "openai",
      model: "gpt-4o-mini",
      input: [{ role: "user", content: "Where is my refund?" }],
      output: [{ role: "assistant", content: "On its way." }],
      startTime: new Date(Date.now() - 800),
      endTime: new Date(),
      status: "success",
      metadata: {},
    }),
  ),
});
const requestId = ((await logged.json()) as { id: number }).id;
