import { packageBuild } from "../../tsup.shared";

// Three entry points sharing chunks (splitting), so a class or a realm-wide store exists once even when a
// program imports more than one of them.
export default packageBuild({
  entry: ["src/index.ts", "src/adapter.ts", "src/destination.ts"],
  splitting: true,
});
