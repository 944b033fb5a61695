export { StoreKeys } from "./keys.ts";
export { createStore, evictionProblem, RedisStore, type RedisStoreOptions } from "./redis-store.ts";
export { parseUrlOptions, type UrlOptions } from "./url-options.ts";
