// Placeholder demo until the full one lands: what each in-flight destination receives for one call.
import { createTagalong, portkey, requesty, withMetadata } from "@tagalong/core";

const tagalong = createTagalong({ destinations: [portkey(), requesty()], metadata: { environment: "production" } });
const prepared = withMetadata({ user: "Zoë 😀", session: "s_1", tags: ["checkout"] }, () =>
  tagalong.prepare({ prompt: { name: "welcome", version: 2 }, extra: { team: "search" } }),
);
console.log("Portkey headers:", prepared.headers);
console.log("Requesty body field:", JSON.stringify(prepared.body));
