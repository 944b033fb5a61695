/**
 * Lua run against bee-queue's keys, for what bee-queue has no atomic command for. Keys follow
 * bee-queue's layout (`<prefix>:<queue>:jobs|waiting|active|delayed`), plus taskport's own
 * `<prefix>:<queue>:cancelled` set.
 */

/**
 * Cancel a job only if no worker holds it: it must still sit in `waiting` or `delayed` (a worker's
 * BRPOPLPUSH moves it to `active` atomically, so the two cannot both win). The record stays, marked
 * cancelled, so its status can be read back. Returns 1 when cancelled.
 */
export const CANCEL = `
if redis.call("hexists", KEYS[1], ARGV[1]) == 0 then return 0 end
local removed = redis.call("lrem", KEYS[2], 0, ARGV[1]) + redis.call("zrem", KEYS[3], ARGV[1])
if removed == 0 then return 0 end
redis.call("sadd", KEYS[4], ARGV[1])
return 1
`;

/**
 * Read a job's record and where it is, in one step: `{data, state}` where state is `cancelled`,
 * `delayed:<epoch ms>`, `active` or `stored` (waiting or finished: the record's status says which).
 */
export const STATUS = `
local data = redis.call("hget", KEYS[1], ARGV[1])
if not data then return nil end
local state = "stored"
if redis.call("sismember", KEYS[4], ARGV[1]) == 1 then
  state = "cancelled"
else
  local score = redis.call("zscore", KEYS[3], ARGV[1])
  if score then
    state = "delayed:" .. score
  elseif redis.call("lpos", KEYS[2], ARGV[1]) then
    state = "active"
  end
end
return {data, state}
`;
