import { observeStream, type StreamEnd } from "@tagalong/core/adapter";

/**
 * One call's watch over its response body: who reads it. "sdk" once the SDK's parser takes it (the
 * body then goes to the SDK as it is, and the call is recorded from what the SDK parsed); "copy" once
 * anything else reads it (an `.asResponse()` reader, a frozen response, an unknown stream class): it
 * then reads an observed copy, and the call is recorded from the bytes that passed. The first wins.
 */
export interface BodyWatch {
  by?: "sdk" | "copy";
  /**
   * Whether the first `json()` or `text()` reads the body itself, its text handed to `parse`: a plain
   * body, read that way by the SDK's parser (json in openai 5 and 6, text in 7) or by the caller.
   */
  readonly parses: boolean;
  /**
   * The first `json()` or `text()` of a body that `parses`, given the body's text (`json`: the reader
   * was `json()`): returns what the caller of that reader gets.
   */
  parse(text: Promise<string>, json: boolean): Promise<unknown>;
  copy?: Response;
  /** Called once, when the copy's body ends, with the chunks that passed. */
  copied(chunks: Uint8Array[], end: StreamEnd): void;
  /** A throw from `copied`: Tagalong's failure, never the reader's. */
  fail(error: unknown): void;
}

const WATCH = Symbol("tagalong.openai.body-watch");

type Watched = Response & { [WATCH]: BodyWatch };

const BODY_READERS = ["arrayBuffer", "blob", "bytes", "formData", "json", "text"] as const;

/** The watched prototype made for each response prototype (one per fetch implementation, in practice one). */
const prototypes = new WeakMap<object, object>();

/**
 * A prototype over `base` whose body and body readers go to the response itself while the SDK reads
 * it (a plain body's first `json()` or `text()` included), and to the observed copy otherwise (made
 * at the first such read). The state lives on each
 * response (`WATCH`), so watching a response costs a prototype switch and one field, not a set of
 * closures per call.
 */
function watchedPrototype(base: object): object {
  let proto = prototypes.get(base);
  if (proto !== undefined) return proto;
  // The response's body as it is now: a `clone()` by the caller replaces it with one branch of a tee.
  const source = (response: Watched): ReadableStream<Uint8Array> => Reflect.get(base, "body", response);
  const props: PropertyDescriptorMap = {
    body: {
      configurable: true,
      get(this: Watched) {
        const watch = this[WATCH];
        return watch.by === "sdk" ? source(this) : viaCopy(this, watch, source(this)).body;
      },
    },
  };
  const text = (base as { text?: () => Promise<string> }).text;
  for (const name of BODY_READERS) {
    const read = (base as Record<string, unknown>)[name];
    if (typeof read !== "function") continue;
    props[name] = {
      configurable: true,
      writable: true,
      value(this: Watched) {
        const watch = this[WATCH];
        if (watch.by === "sdk") return read.call(this);
        if (watch.by === undefined && watch.parses && (name === "json" || name === "text") && text) {
          watch.by = "sdk";
          // json() is text() then JSON.parse: read as text, the body is kept as the string it was.
          return watch.parse(text.call(this), name === "json");
        }
        return (viaCopy(this, watch, source(this)) as any)[name]();
      },
    };
  }
  proto = Object.create(base, props) as object;
  prototypes.set(base, proto);
  return proto;
}

function viaCopy(original: Response, watch: BodyWatch, source: ReadableStream<Uint8Array>): Response {
  watch.by ??= "copy";
  return (watch.copy ??= observedResponse(original, source, watch));
}

/**
 * Watches where `response`'s body is read, in place: the SDK's own reads (once `watch.by` is "sdk")
 * go to the body as it is; any other read goes through an observed copy. A response that cannot be
 * changed (a custom fetch froze it) is replaced by the copy at once.
 */
export function watchBody(response: Response, watch: BodyWatch): Response {
  if (!Object.isExtensible(response)) return viaCopy(response, watch, response.body!);
  Object.setPrototypeOf(response, watchedPrototype(Object.getPrototypeOf(response) as object));
  (response as Watched)[WATCH] = watch;
  return response;
}

/** The watch `watchBody` gave `response`, if it gave it one. */
export function bodyWatchOf(response: Response): BodyWatch | undefined {
  return (response as Partial<Watched>)[WATCH];
}

/**
 * A response like `original` (status, headers, url) whose body passes each chunk to the reader as it
 * is pulled (the kit's observed stream) and keeps a reference to it. `watch.copied` gets the chunks
 * once, when the body ends, before the reader sees the end: so the call is recorded before the
 * caller's `await` returns, and a `flush()` right after it waits for its delivery.
 */
function observedResponse(
  original: Response,
  source: ReadableStream<Uint8Array>,
  watch: BodyWatch,
): Response {
  const chunks: Uint8Array[] = [];
  const body = observeStream(source, {
    chunk: (chunk) => chunks.push(chunk),
    end: (end) => watch.copied(chunks, end),
    fail: (error) => watch.fail(error),
  });
  const copy = new Response(body, {
    status: original.status,
    statusText: original.statusText,
    headers: original.headers,
  });
  // What a constructed Response cannot take in its init: keep the original's values.
  Object.defineProperties(copy, {
    url: { value: original.url },
    redirected: { value: original.redirected },
    type: { value: original.type },
  });
  return copy;
}
