/**
 * Lua run against bee-queue's keys, for what bee-queue has no atomic command for. Keys follow
 * bee-queue's layout (`<prefix>:<queue>:jobs|waiting|active|delayed`), plus taskport's own
 * `<prefix>:<queue>:cancelled` set.
 */

/**
 * Cancel a job only if no worker holds it: it must still sit in `waiting` or `delayed` (a worker's
 * BRPOPLPUSH moves it to `active` atomically, so the two cannot both win). The record stays, marked
 * cancelled, so its status can be read back, until its expiry (ARGV[2], epoch ms, kept in the
 * `cancelledExpiry` sorted set, KEYS[5]): past it the job reads as gone and the sweep deletes it.
 * Returns 1 when cancelled.
 */
export const CANCEL = `
if redis.call("hexists", KEYS[1], ARGV[1]) == 0 then return 0 end
local removed = redis.call("lrem", KEYS[2], 0, ARGV[1]) + redis.call("zrem", KEYS[3], ARGV[1])
if removed == 0 then return 0 end
redis.call("sadd", KEYS[4], ARGV[1])
redis.call("zadd", KEYS[5], tonumber(ARGV[2]), ARGV[1])
return 1
`;

/**
 * Read a job's record and where it is, in one step: `{data, state}` where state is `cancelled`,
 * `delayed:<epoch ms>`, `active` or `stored` (waiting or finished: the record's status says which).
 * A cancelled job past its expiry (KEYS[5], against ARGV[2], now) reads as gone.
 */
export const STATUS = `
local data = redis.call("hget", KEYS[1], ARGV[1])
if not data then return nil end
local state = "stored"
if redis.call("sismember", KEYS[4], ARGV[1]) == 1 then
  local expires = redis.call("zscore", KEYS[5], ARGV[1])
  if expires and tonumber(expires) <= tonumber(ARGV[2]) then return nil end
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

/**
 * bee-queue's stalled-job check (`lib/lua/checkStalledJobs.lua` of bee-queue 2.0, which the adapter
 * pins), which also counts each stall in the job's record, so that a crash counts as an attempt:
 * `"crashes":<n>` right after `"tp":1` in a taskport job's data. The record is bee-queue's JSON
 * (`{"data":{"tp":1,…},"options":…}`, data first, as `Job#toData()` and taskport's own enqueue
 * write it); a record of another shape is moved back uncounted. Once per `stallInterval` across
 * all workers (the stallBlock key): a job still in `stalling` from the last run got no heartbeat
 * since, so its worker is gone; it goes back to `waiting` (at the far end: a job that kills its
 * worker does not starve the rest), and every active job is marked for the next run.
 *
 * KEYS: stallBlock, stalling, waiting, active, jobs. ARGV: stallInterval (ms).
 */
export const CHECK_STALLED = `
local maxUnpack = 1024
if not redis.call("set", KEYS[1], "1", "PX", tonumber(ARGV[1]), "NX") then return {} end
local stalling, stalled = redis.call("smembers", KEYS[2]), {}
local head = '{"data":{"tp":1,'
if next(stalling) ~= nil then
  for _, jobId in ipairs(stalling) do
    if redis.call("lrem", KEYS[4], 0, jobId) > 0 then
      stalled[#stalled + 1] = jobId
      local record = redis.call("hget", KEYS[5], jobId)
      if record and string.sub(record, 1, #head) == head then
        local rest = string.sub(record, #head + 1)
        local count, after = string.match(rest, '^"crashes":(%d+),(.*)$')
        if count then
          rest = '"crashes":' .. (tonumber(count) + 1) .. ',' .. after
        else
          rest = '"crashes":1,' .. rest
        end
        redis.call("hset", KEYS[5], jobId, head .. rest)
      end
    end
  end
  local pushed = 0
  while pushed < #stalled do
    redis.call("lpush", KEYS[3], unpack(stalled, pushed + 1, math.min(pushed + maxUnpack, #stalled)))
    pushed = pushed + maxUnpack
  end
  redis.call("del", KEYS[2])
end
local actives, added = redis.call("lrange", KEYS[4], 0, -1), 0
while added < #actives do
  redis.call("sadd", KEYS[2], unpack(actives, added + 1, math.min(added + maxUnpack, #actives)))
  added = added + maxUnpack
end
return #stalled
`;

/**
 * One bounded step of the retention sweep over one of a queue's finished sets (`succeeded` or
 * `failed`): SSCAN `count` members from the cursor kept in Redis (so successive runs, by any worker,
 * go on where the last stopped), and delete each whose record is finished and past its `expiresAt`
 * (the record and its set membership; a deduplicated job's id goes with it, freeing the key). A member
 * whose record is gone is dropped from the set. Safe to run from several workers at once: each step
 * is atomic, and deleting twice deletes nothing more. Returns `{deleted, wrapped}` (wrapped: 1 when
 * the scan came back to the start).
 *
 * KEYS: jobs, the finished set, the cursor key. ARGV: now (epoch ms), count.
 */
export const SWEEP = `
local cursor = redis.call("get", KEYS[3]) or "0"
local scan = redis.call("sscan", KEYS[2], cursor, "COUNT", tonumber(ARGV[2]))
local now, deleted = tonumber(ARGV[1]), 0
for _, id in ipairs(scan[2]) do
  local record = redis.call("hget", KEYS[1], id)
  if not record then
    redis.call("srem", KEYS[2], id)
  else
    local ok, job = pcall(cjson.decode, record)
    if ok and type(job) == "table" and type(job.data) == "table" and (job.status == "succeeded" or job.status == "failed") then
      local expires = tonumber(job.data.expiresAt)
      if expires and expires <= now then
        redis.call("hdel", KEYS[1], id)
        redis.call("srem", KEYS[2], id)
        deleted = deleted + 1
      end
    end
  end
end
if scan[1] == "0" then redis.call("del", KEYS[3]) else redis.call("set", KEYS[3], scan[1]) end
return {deleted, scan[1] == "0" and 1 or 0}
`;

/**
 * One bounded step of the retention sweep over a queue's cancelled jobs: delete up to `count` whose
 * expiry (the `cancelledExpiry` sorted set) has passed — record, `cancelled` membership and expiry.
 * Returns how many it deleted.
 *
 * KEYS: jobs, cancelled, cancelledExpiry. ARGV: now (epoch ms), count.
 */
export const SWEEP_CANCELLED = `
local ids = redis.call("zrangebyscore", KEYS[3], "-inf", tonumber(ARGV[1]), "LIMIT", 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call("hdel", KEYS[1], id)
  redis.call("srem", KEYS[2], id)
  redis.call("zrem", KEYS[3], id)
end
return #ids
`;

/**
 * Remove dead letters for good, as bee-queue's `removeJob` would but only for failed jobs: each
 * given id (or every member of `failed` when none is given) whose record is failed and not past its
 * retention loses its record and its `failed` membership, which frees a deduplicated job's key.
 * Returns how many it removed.
 *
 * KEYS: jobs, failed. ARGV: now (epoch ms), then the ids (none: all).
 */
export const DISCARD = `
local now, removed = tonumber(ARGV[1]), 0
local ids = {}
if #ARGV > 1 then
  for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call("smembers", KEYS[2])
end
for _, id in ipairs(ids) do
  if redis.call("sismember", KEYS[2], id) == 1 then
    local record = redis.call("hget", KEYS[1], id)
    local ok, job = pcall(cjson.decode, record or "")
    if ok and type(job) == "table" and job.status == "failed" then
      local expires = type(job.data) == "table" and tonumber(job.data.expiresAt) or nil
      if not expires or expires > now then
        redis.call("hdel", KEYS[1], id)
        redis.call("srem", KEYS[2], id)
        removed = removed + 1
      end
    end
  end
end
return removed
`;
