// Paginated list calls (`models.list()`, `files.list()`, ...) go through the SDK's `requestAPIList`,
// not `request()`: what a wrapped client puts on the wire for them, page after page, for every major.
import type { IncomingHttpHeaders } from "node:http";
import { createTagalong, InvalidMetadataError, portkey, requesty, withMetadata } from "@tagalong/core";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { tagalongOptions, wrapOpenAI } from "../src/index";
import { API_KEY, useLoopbackServer } from "./helpers";
import { type ClientClass, MAJORS, nodeMajor } from "./sdk-majors";

/** A loopback server answering list calls: /v1/files in cursor pages of one file, three files in all. */
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

const server = useLoopbackServer((req, res) => {
  seen.push({ url: req.url!, headers: req.headers });
  const url = new URL(req.url!, "http://localhost");
  const body =
    url.pathname === "/v1/files"
      ? (() => {
          const n = Number(url.searchParams.get("after")?.slice(5) ?? 0) + 1;
          const file = { id: `file_${n}`, object: "file", bytes: 1, created_at: 0, filename: `${n}.jsonl` };
          return { object: "list", data: [file], has_more: n < 3 };
        })()
      : { object: "list", data: [{ id: "gpt-test", object: "model", created: 0, owned_by: "me" }] };
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
});
beforeEach(() => {
  seen.length = 0;
});

const portkeyMetadata = (headers: IncomingHttpHeaders) =>
  JSON.parse((headers["x-portkey-metadata"] as string | undefined) ?? "null");

describe.each(MAJORS)("$name", (major) => {
  describe.skipIf(nodeMajor < major.minNode)("paginated list calls", () => {
    let OpenAIClass: ClientClass;
    beforeAll(async () => {
      OpenAIClass = await major.load();
    });
    const wrapped = (onInvalid?: "throw") =>
      wrapOpenAI(
        new OpenAIClass({ apiKey: API_KEY, baseURL: server.baseURL, maxRetries: 0 }),
        createTagalong({
          destinations: [portkey(), requesty()],
          metadata: { environment: "test" },
          onInvalid,
        }),
      );

    it("models.list() carries scope and per-call metadata in Portkey's headers", async () => {
      const client = wrapped();
      const page = await withMetadata({ user: "u_42" }, () =>
        client.models.list(tagalongOptions({ trace: "t_list", tags: ["list"] })),
      );
      expect(page.data.map((m) => m.id)).toEqual(["gpt-test"]);
      expect(seen).toHaveLength(1);
      expect(portkeyMetadata(seen[0]!.headers)).toEqual({
        _environment: "test",
        _user: "u_42",
        tags: "list",
      });
      expect(seen[0]!.headers["x-portkey-trace-id"]).toBe("t_list");
    });

    it("every page of a `for await` over files.list() carries the call's metadata", async () => {
      const client = wrapped();
      const ids: string[] = [];
      for await (const file of client.files.list({ limit: 1 }, tagalongOptions({ user: "u_pages" }))) {
        ids.push(file.id);
      }
      expect(ids).toEqual(["file_1", "file_2", "file_3"]);
      expect(seen.map((r) => r.url)).toEqual([
        "/v1/files?limit=1",
        "/v1/files?limit=1&after=file_1",
        "/v1/files?limit=1&after=file_2",
      ]);
      for (const request of seen) {
        expect(portkeyMetadata(request.headers)).toEqual({ _environment: "test", _user: "u_pages" });
        expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
      }
    });

    it("with onInvalid throw, invalid metadata rejects the list call with InvalidMetadataError, unsent", async () => {
      const client = wrapped("throw");
      await expect(client.models.list(tagalongOptions({ user: "u".repeat(200) }))).rejects.toBeInstanceOf(
        InvalidMetadataError,
      );
      expect(seen).toHaveLength(0);
    });
  });
});
