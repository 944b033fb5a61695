import { randomFillSync } from "node:crypto";

/**
 * New job ids: random (version 4) UUIDs, which every engine accepts as an id or carries in the
 * message. Made here rather than by `crypto.randomUUID()`, whose strings are built in pieces and
 * cost ~480 bytes each while alive; these are flat 36-byte strings, which matters for the memory
 * engine holding a million delayed jobs.
 */
const HEX = new TextEncoder().encode("0123456789abcdef");
const POOL_IDS = 256;
const pool = Buffer.alloc(16 * POOL_IDS);
let next = POOL_IDS;
const out = Buffer.alloc(36);

export function newJobId(): string {
  if (next === POOL_IDS) {
    randomFillSync(pool);
    next = 0;
  }
  const base = 16 * next++;
  let o = 0;
  for (let i = 0; i < 16; i++) {
    let byte = pool[base + i] as number;
    if (i === 6) byte = (byte & 0x0f) | 0x40; // version 4
    if (i === 8) byte = (byte & 0x3f) | 0x80; // RFC 4122 variant
    out[o++] = HEX[byte >> 4] as number;
    out[o++] = HEX[byte & 0x0f] as number;
    if (i === 3 || i === 5 || i === 7 || i === 9) out[o++] = 0x2d; // "-"
  }
  return out.toString("latin1", 0, 36);
}
