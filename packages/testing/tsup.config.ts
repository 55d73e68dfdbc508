import { packageBuild } from "../../tsup.shared";

// The gateway harness is its own entry: it spawns processes and needs the optional @portkey-ai/gateway peer.
export default packageBuild({ entry: ["src/index.ts", "src/portkey-gateway.ts"], shims: true });
