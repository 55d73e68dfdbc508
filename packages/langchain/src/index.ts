export {
  TagalongCallbackHandler,
  type TagalongCallbackHandlerOptions,
} from "./callback-handler";
export { METADATA_KEY, tagalongMetadata } from "./run-metadata";
export { withTagalong } from "./with-tagalong";
