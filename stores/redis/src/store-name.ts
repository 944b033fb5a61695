/** The store's name, as it starts every message: `[taskport] [redis-store] …`. */
export const STORE_NAME = "redis-store";
