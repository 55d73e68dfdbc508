export {
  TagalongCallbackHandler,
  type TagalongCallbackHandlerOptions,
} from "./callback-handler";
export { METADATA_KEY } from "./run-metadata";
export { withTagalong } from "./with-tagalong";
