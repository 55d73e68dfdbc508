// Memory per call: N calls through a wrapped client, heap after GC. Run: node --expose-gc --conditions=tagalong-dist test/review-mem.mjs <pkg> <mode>
import http from "node:http";
import { createTagalong, portkey, requesty } from "@tagalong/core";
import { wrapOpenAI } from "@tagalong/openai";
const [pkg = "openai", mode = "plain"] = process.argv.slice(2);
const OpenAI = (await import(pkg)).default;
const chat = (id) => JSON.stringify({ id, object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "x".repeat(2000) }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1 } });
let n = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const id = `c${++n}`;
    if (mode === "error") { res.writeHead(500, { "content-type": "application/json" }); res.end(JSON.stringify({ error: { message: "boom sk-x" } })); return; }
    if (mode === "stream" || mode === "break") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { content: "x".repeat(2000) } }] })}\n\n`);
      res.end("data: [DONE]\n\n");
    } else {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(chat(id));
    }
  });
});
await new Promise((r) => server.listen(0, r));
const baseURL = `http://127.0.0.1:${server.address().port}/v1`;
let recorded = 0;
const tagalong = createTagalong({ destinations: [portkey(), requesty(), { name: "count", record: () => void recorded++ }], metadata: { environment: "t" }, onError: (e) => console.error("onError", e) });
const client = process.env.BARE ? new OpenAI({ apiKey: "sk-x", baseURL, maxRetries: 0 }) : wrapOpenAI(new OpenAI({ apiKey: "sk-x", baseURL, maxRetries: 0 }), tagalong);
async function one(i) {
  const params = { model: "m", messages: [{ role: "user", content: "y".repeat(5000) + i }] };
  if (mode === "stream") { const s = await client.chat.completions.create({ ...params, stream: true }); for await (const _ of s); }
  else if (mode === "break") { const s = await client.chat.completions.create({ ...params, stream: true }); for await (const _ of s) break; }
  else if (mode === "error") await client.chat.completions.create(params).catch(() => {});
  else if (mode === "withResponse") await client.chat.completions.create(params).withResponse();
  else await client.chat.completions.create(params);
}
async function heap() { await tagalong.flush(); await new Promise((r) => setTimeout(r, 50)); for (let i = 0; i < 3; i++) { global.gc(); await new Promise((r) => setTimeout(r, 10)); } return process.memoryUsage().heapUsed; }
for (let i = 0; i < 300; i++) await one(i);
const h0 = await heap();
const N = Number(process.env.N ?? 3000);
for (let i = 0; i < N; i++) await one(i);
const h1 = await heap();
console.log(pkg, mode, process.env.BARE ? "bare" : "wrapped", "recorded", recorded, "heap growth per call (bytes):", Math.round((h1 - h0) / N));
server.close();
await tagalong.shutdown?.();
process.exit(0);
