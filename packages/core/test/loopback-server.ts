import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

/**
 * Runs `test` against a loopback HTTP server answering with `handle` (for answers the recorder does not
 * give: a redirect, a 2xx that is not JSON), and closes it after. Its requests: "METHOD /path".
 */
export async function withLoopbackServer(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  test: (url: string, seen: string[]) => Promise<void>,
): Promise<void> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await test(`http://127.0.0.1:${(server.address() as { port: number }).port}`, seen);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
