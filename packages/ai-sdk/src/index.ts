export { tagalongFetch } from "./fetch-channel";
export { type TagalongMiddleware, tagalongMiddleware } from "./middleware";
export {
  TAGALONG_OPTIONS_KEY,
  type TagalongJsonObject,
  type TagalongJsonValue,
  tagalongOptions,
} from "./provider-options";
