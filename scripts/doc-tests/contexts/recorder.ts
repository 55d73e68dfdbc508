// The packages/testing README's first example, up to its recorder; closed after the fragment.
import { createRecorder } from "@tagalong/testing";

const rec = await createRecorder();
// @fragment
await rec.close();
