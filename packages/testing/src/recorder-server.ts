// The recorder's HTTP server on loopback: listening, refusing and resuming on the same port, the open
// connections and answers it destroys when it stops, and the timers it clears when it closes.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { openaiError, sendJson } from "./openai-api";

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export class LoopbackServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pending = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private listening = false;

  /** `onDrop` is told when every connection is being destroyed (what holds answers lets them go). */
  constructor(
    handle: Handler,
    private readonly onDrop: () => void,
  ) {
    // Big enough to receive (and judge) headers over Node's 16 KB default instead of refusing them.
    this.server = createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
      this.pending.add(res);
      res.on("close", () => this.pending.delete(res));
      handle(req, res).catch((error) => {
        if (!res.headersSent)
          sendJson(res, 500, openaiError(`recorder bug: ${String(error)}`, "server_error"));
        else res.destroy();
      });
    });
    // Idle keep-alive connections stay open until the client closes them (or the recorder stops): with
    // a server-side timeout (Node's 5 s), a client whose own idle timer runs late on a loaded machine
    // sends its next request on a socket the server is closing and gets ECONNRESET, which fails a call
    // made with maxRetries: 0 (seen: hundreds of resets in one 1,000-call burst under load).
    this.server.keepAliveTimeout = 0;
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** Listens on 127.0.0.1:`port` (0: a free port) and resolves with the port. */
  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once("error", onError);
      this.server.listen(port, "127.0.0.1", () => {
        this.server.off("error", onError);
        this.listening = true;
        const address = this.server.address();
        if (!address || typeof address === "string") reject(new Error("recorder: no TCP address"));
        else resolve(address.port);
      });
    });
  }

  /** Stops listening and destroys every open connection and pending answer. */
  stop(): Promise<void> {
    if (!this.listening) return Promise.resolve();
    this.listening = false;
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const res of this.pending) res.destroy();
      this.pending.clear();
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
      this.onDrop();
    });
  }

  /** Waits `ms`; the wait is cut (never resolves) when the server closes. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  /** Clears every pending wait and stops. */
  close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    return this.stop();
  }
}
