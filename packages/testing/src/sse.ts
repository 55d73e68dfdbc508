import type { ServerResponse } from "node:http";

/** Start an SSE answer with the headers OpenAI sends. */
export function startSse(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, {
    ...headers,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
}

/** One `data:` frame (chat completions and legacy completions carry no `event:` line). */
export function sseData(res: ServerResponse, data: unknown): void {
  res.write(`data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`);
}

/** One named event (the Responses API sends `event: <type>` before each `data:`). */
export function sseEvent(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The chat/legacy terminator. */
export function sseDone(res: ServerResponse): void {
  res.end("data: [DONE]\n\n");
}
