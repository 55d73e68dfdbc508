import { createRecorder, type Recorder } from "@tagalong/testing";
import { afterAll, afterEach, beforeAll, expect } from "vitest";

/** One loopback recorder for the enclosing suite; after each test: no vendor rule broken, then reset. */
export function useRecorder(): { readonly rec: Recorder } {
  let rec: Recorder | undefined;
  beforeAll(async () => {
    rec = await createRecorder();
  });
  afterEach(async () => {
    expect(rec!.violations()).toEqual([]);
    await rec!.reset();
  });
  afterAll(() => rec?.close());
  return {
    get rec() {
      if (!rec) throw new Error("useRecorder: the recorder starts in beforeAll");
      return rec;
    },
  };
}
