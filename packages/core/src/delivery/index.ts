// The delivery engine for after-the-call destinations, in named parts: options (settings and
// defaults), attempt (one HTTP attempt), retry-policy (backoff and time budget), breaker (the circuit
// breaker), queue (the scheduler), exit (the exit drain) and stats (counts and reports).
export { parseRetryAfter } from "./attempt";
export { DELIVERY_DEFAULTS, type DeliveryOptions } from "./options";
export {
  createDeliveryQueue,
  type DeliveryContext,
  type DeliveryJob,
  type DeliveryQueue,
  type DeliveryQueueOptions,
  type DeliveryRequest,
} from "./queue";
