import { createRecorder, type Recorder, type RecorderOptions } from "@tagalong/testing";
import { afterAll, afterEach, beforeAll, expect } from "vitest";

/**
 * One loopback recorder for a test file, reset after each test and closed at the end; and the
 * file's guard that no rejection ever escapes (checked once every test has run).
 */
export function useRecorder(options: RecorderOptions = {}): { readonly rec: Recorder } {
  let rec: Recorder | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    rec = await createRecorder(options);
  });
  afterEach(async () => {
    await rec?.reset();
  });
  afterAll(async () => {
    await rec?.close();
    // A turn for late rejections, if any, to surface.
    await new Promise((resolve) => setTimeout(resolve, 20));
    process.off("unhandledRejection", onUnhandled);
    expect(unhandled).toEqual([]);
  });
  return {
    get rec() {
      if (!rec) throw new Error("useRecorder: the recorder starts in beforeAll");
      return rec;
    },
  };
}
