// Type tests, checked by `tsc` (the package's typecheck): the wrapper keeps the caller's type, and
// per-call metadata is type-checked where it is written.
import { createTagalong } from "@tagalong/core";
import OpenAI, { AzureOpenAI } from "openai";
import { expectTypeOf } from "vitest";
import { tagalongOptions, wrapOpenAI } from "./index";

const tagalong = createTagalong({ destinations: [] });

class MyClient extends OpenAI {
  hello(): string {
    return "hi";
  }
}

expectTypeOf(wrapOpenAI(new OpenAI({ apiKey: "k" }), tagalong)).toEqualTypeOf<OpenAI>();
expectTypeOf(wrapOpenAI(new MyClient({ apiKey: "k" }), tagalong)).toEqualTypeOf<MyClient>();
expectTypeOf(
  wrapOpenAI(new AzureOpenAI({ apiKey: "k", apiVersion: "v", endpoint: "e" }), tagalong),
).toEqualTypeOf<AzureOpenAI>();
// @ts-expect-error: only OpenAI clients
wrapOpenAI({ chat: {} }, tagalong);

const client = wrapOpenAI(new OpenAI({ apiKey: "k" }), tagalong);
const params = { model: "m", messages: [{ role: "user" as const, content: "hi" }] };

// Alone, or spread beside other request options.
void client.chat.completions.create(params, tagalongOptions({ user: "u_1", tags: ["a"] }));
void client.responses.create(
  { model: "m", input: "hi" },
  { ...tagalongOptions({ session: "s" }), timeout: 5 },
);
void client.embeddings.create(
  { model: "m", input: "hi" },
  tagalongOptions({ extra: { team: "core", n: 1 } }),
);

// @ts-expect-error: metadata fields are checked (no such field)
tagalongOptions({ userId: "u_1" });
// @ts-expect-error: tags are strings
tagalongOptions({ tags: [1] });
// @ts-expect-error: extra values are strings, numbers or booleans
tagalongOptions({ extra: { nested: { a: 1 } } });

// The SDK's promise type is kept, .withResponse() included.
expectTypeOf(client.chat.completions.create(params).withResponse).toBeFunction();
