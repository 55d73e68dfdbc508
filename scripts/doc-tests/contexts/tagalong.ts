// Any `tagalong` made by createTagalong, as in the README's first example.
import { createTagalong, portkey } from "@tagalong/core";

const tagalong = createTagalong({ destinations: [portkey()] });
