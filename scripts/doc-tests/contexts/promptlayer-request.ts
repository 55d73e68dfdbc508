// A request PromptLayer already holds, logged the way PromptLayer's own SDK logs one (POST /log-request);
// `requestId` is what it answered. In the doc tests the recorder plays api.promptlayer.com.
const logged = await fetch("https://api.promptlayer.com/log-request", {
  method: "POST",
  headers: { "content-type": "application/json", "X-API-KEY": process.env.PROMPTLAYER_API_KEY! },
  body: JSON.stringify({
    provider: "openai",
    model: "gpt-4o-mini",
    input: {
      type: "chat",
      messages: [{ role: "user", content: [{ type: "text", text: "Where is my refund?" }] }],
    },
    output: {
      type: "chat",
      messages: [{ role: "assistant", content: [{ type: "text", text: "On its way." }] }],
    },
    request_start_time: new Date(Date.now() - 800).toISOString(),
    request_end_time: new Date().toISOString(),
    parameters: {},
    status: "SUCCESS",
  }),
});
const requestId = ((await logged.json()) as { id: number }).id;
