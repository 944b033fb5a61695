/**
 * The store's Lua scripts: each call is atomic in Redis, so a batch's key claims, starts and
 * outcomes cannot interleave with another process's. Every script takes the same KEYS (the
 * indexes, see `StoreKeys.indexes`) and starts its ARGV with the prefix and the caller's clock
 * (`now`, epoch ms); the rest is one fixed-size group per job. A job's own keys are built from the
 * prefix inside the script (`<prefix>:job:<id>`, `<prefix>:dedup:<queue>:<key>`), so the store
 * runs on a single Redis server (or a replicated one), not on Redis Cluster.
 *
 * A record is *pending* while its id is in the pending sorted set (scored by when its claim runs
 * out): the set alone says so, so that confirming a batch is one ZREM. Finishing a job (`finish`)
 * releases its deduplication key, and either sets the hash's expiry (when the retention is known:
 * settle, cancel) or files it in the finished index that `sweep` reads (when it is not: a
 * redelivery that ends a cancelled job).
 *
 * Each queue has indexes for inspection, kept by the same scripts so that no read scans the
 * keyspace: `<prefix>:queue:<queue>:<status>` (a sorted set per status, by recording order `seq`),
 * `…:all` (every record, by `seq`: listing), `…:due` (scheduled records, by `runAt`: a due one
 * reads as queued) and `…:expiry` (finished records with a TTL, by when it runs out: their entries
 * are dropped by `trim` once Redis has deleted the hash). `<prefix>:queues` is the set of queue
 * names. Records made before these indexes existed (no `seq`) stay out of them.
 */

const PRELUDE = `
local PENDING, SUCCEEDED, FAILED, CANCELLING = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local prefix = ARGV[1]
local now = tonumber(ARGV[2])
local changes = {}

local function jobKey(id) return prefix .. ':job:' .. id end
local function isFinal(status) return status == 'succeeded' or status == 'failed' or status == 'cancelled' end

-- Free a deduplication key, if this job still holds it.
local function release(id, queue, key)
  if key and key ~= '' and queue then
    local k = prefix .. ':dedup:' .. queue .. ':' .. key
    if redis.call('GET', k) == id then redis.call('DEL', k) end
  end
end

-- The fields every state change reads.
local function state(h)
  return redis.call('HMGET', h, 'status', 'attempt', 'cancelRequested', 'queue', 'dedupKey', 'runAt', 'seq')
end

local function queueKey(queue, part) return prefix .. ':queue:' .. queue .. ':' .. part end

-- File a new record in its queue's indexes, numbered in recording order.
local function index(id, h, queue, status, runAt)
  local seq = redis.call('INCR', prefix .. ':seq')
  redis.call('HSET', h, 'seq', seq)
  redis.call('SADD', prefix .. ':queues', queue)
  redis.call('ZADD', queueKey(queue, 'all'), seq, id)
  redis.call('ZADD', queueKey(queue, status), seq, id)
  if status == 'scheduled' then redis.call('ZADD', queueKey(queue, 'due'), runAt, id) end
end

-- Move a record between status indexes; one without a seq is in none.
local function move(id, queue, seq, from, to, runAt)
  if not queue or not seq then return end
  if from then redis.call('ZREM', queueKey(queue, from), id) end
  if from == 'scheduled' then redis.call('ZREM', queueKey(queue, 'due'), id) end
  redis.call('ZADD', queueKey(queue, to), seq, id)
  if to == 'scheduled' then redis.call('ZADD', queueKey(queue, 'due'), runAt, id) end
end

-- Take a record out of every index of its queue, before its hash is deleted.
local function unindex(id, queue, status)
  if not queue then return end
  redis.call('ZREM', queueKey(queue, 'all'), id)
  if status then redis.call('ZREM', queueKey(queue, status), id) end
  redis.call('ZREM', queueKey(queue, 'due'), id)
  redis.call('ZREM', queueKey(queue, 'expiry'), id)
end

-- Drop the index entries of finished records whose hash Redis has deleted by its TTL (at most
-- limit of them). A hash still there (clocks differ) waits; one recorded again under the same id
-- keeps the entries of its new life. Returns how many were dropped.
local function trim(queue, limit)
  local expiry = queueKey(queue, 'expiry')
  local ids = redis.call('ZRANGEBYSCORE', expiry, '-inf', '(' .. now, 'LIMIT', 0, limit)
  local dropped = 0
  for _, id in ipairs(ids) do
    local h = jobKey(id)
    local status = redis.call('HGET', h, 'status')
    if not (status and isFinal(status) and redis.call('PTTL', h) > 0) then
      if not status then redis.call('ZREM', queueKey(queue, 'all'), id) end
      for _, final in ipairs({ 'succeeded', 'failed', 'cancelled' }) do
        if final ~= status then redis.call('ZREM', queueKey(queue, final), id) end
      end
      redis.call('ZREM', expiry, id)
      dropped = dropped + 1
    end
  end
  return dropped
end

-- A record whose enqueue has not been confirmed, and whose claim has run out: its enqueue died.
local function deadClaim(id)
  local claim = redis.call('ZSCORE', PENDING, id)
  return claim and tonumber(claim) < now
end

-- A final status: key released, retention started, watchers told.
local function finish(id, h, f, status, succeededMs, failedMs)
  redis.call('HSET', h, 'status', status, 'finishedAt', now)
  if f[3] then
    redis.call('HDEL', h, 'cancelRequested')
    redis.call('SREM', CANCELLING, id)
  end
  release(id, f[4], f[5])
  move(id, f[4], f[7], f[1], status)
  local ttl = failedMs
  if status == 'succeeded' then ttl = succeededMs end
  if ttl then
    redis.call('PEXPIRE', h, ttl)
    if f[4] and f[7] then redis.call('ZADD', queueKey(f[4], 'expiry'), now + ttl, id) end
  elseif status == 'succeeded' then
    redis.call('ZADD', SUCCEEDED, now, id)
  else
    redis.call('ZADD', FAILED, now, id)
  end
  changes[#changes + 1] = { id = id, status = status }
end

local function publish(channel)
  if #changes > 0 then redis.call('PUBLISH', channel, cjson.encode(changes)) end
end

local function optionalNumber(text)
  if text == '' then return nil end
  return tonumber(text)
end
`;

/**
 * ARGV: prefix, now, claimMs, call token, then per job: id, name, queue, payload, maxAttempts,
 * enqueuedAt, runAt ('' for none), deduplication key ('' for none). Returns per job the holder's
 * id when the key was held (nothing recorded), else ''. A holder that finished, or whose claim ran
 * out unconfirmed, holds nothing; within one batch the first job with a key takes it. A job named
 * like the holder (a schedule's tick, enqueued by every worker) is held too — unless the holder was
 * recorded by this very call (ioredis sends a call again after a reconnect), which the call token
 * kept in the hash tells. A job already recorded under its own id, with or without a key, is kept as
 * it is and held by itself, so a repeat never sends a finished job back to queued.
 */
export const RECORD = `${PRELUDE}
local claimUntil = now + tonumber(ARGV[3])
local token = ARGV[4]
local out = {}
local claims = {}
for i = 5, #ARGV, 8 do
  local id, queue, key, runAt = ARGV[i], ARGV[i + 2], ARGV[i + 7], ARGV[i + 6]
  local holder = nil
  -- A job recorded before under its id (a repeat, not this very call sent again, nor a dead claim)
  -- is kept as it is and holds itself.
  local mine = redis.call('HGET', jobKey(id), 'recordedBy') == token
  if not mine and redis.call('EXISTS', jobKey(id)) == 1 and not deadClaim(id) then holder = id end
  if key ~= '' and not holder then
    local k = prefix .. ':dedup:' .. queue .. ':' .. key
    local current = redis.call('GET', k)
    if current then
      local other = redis.call('HMGET', jobKey(current), 'status', 'recordedBy')
      if other[1] and not isFinal(other[1]) and not deadClaim(current) and not (current == id and other[2] == token) then
        holder = current
      end
    end
    if not holder then redis.call('SET', k, id) end
  end
  if holder then
    out[#out + 1] = holder
  else
    local status = 'queued'
    if runAt ~= '' and tonumber(runAt) > now then status = 'scheduled' end
    local h = jobKey(id)
    -- A dead claim taken over, or this call sent again: the old record leaves the indexes first.
    local old = redis.call('HMGET', h, 'queue', 'status')
    unindex(id, old[1], old[2])
    redis.call('HSET', h, 'name', ARGV[i + 1], 'queue', queue, 'payload', ARGV[i + 3], 'status', status,
      'maxAttempts', ARGV[i + 4], 'enqueuedAt', ARGV[i + 5])
    if runAt ~= '' then redis.call('HSET', h, 'runAt', runAt) end
    redis.call('HSET', h, 'recordedBy', token)
    if key ~= '' then redis.call('HSET', h, 'dedupKey', key) end
    index(id, h, queue, status, runAt)
    claims[#claims + 1] = claimUntil
    claims[#claims + 1] = id
    out[#out + 1] = ''
  end
  -- One ZADD per 500 claims: fewer calls than one per job, and within Lua's stack for unpack.
  if #claims >= 1000 then
    redis.call('ZADD', PENDING, unpack(claims))
    claims = {}
  end
end
if #claims > 0 then redis.call('ZADD', PENDING, unpack(claims)) end
return out
`;

/** ARGV: prefix, now, then ids. The engine holds them: no longer pending. */
export const CONFIRM = `${PRELUDE}
for i = 3, #ARGV, 500 do
  redis.call('ZREM', PENDING, unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
return 0
`;

/** ARGV: prefix, now, then ids. The engine refused them: records deleted, keys freed. */
export const FORGET = `${PRELUDE}
for i = 3, #ARGV do
  local id = ARGV[i]
  local h = jobKey(id)
  local f = redis.call('HMGET', h, 'queue', 'dedupKey', 'status')
  release(id, f[1], f[2])
  unindex(id, f[1], f[3])
  redis.call('DEL', h)
  redis.call('ZREM', PENDING, id)
end
return 0
`;

/**
 * ARGV: prefix, now, channel, then per start: id, name, queue, engine attempt, maxAttempts.
 * Returns per start `{1, attempt}` (run it) or `{0, fields}` (do not: the hash as HGETALL reads it).
 * A running job whose cancel was asked for, delivered again, died with its worker while being
 * cancelled: it ends cancelled instead of running again.
 */
export const BEGIN = `${PRELUDE}
local out = {}
for i = 4, #ARGV, 5 do
  local id = ARGV[i]
  local h = jobKey(id)
  local engineAttempt = tonumber(ARGV[i + 3])
  local f = state(h)
  if not f[1] then
    local attempt = math.max(1, engineAttempt)
    redis.call('HSET', h, 'name', ARGV[i + 1], 'queue', ARGV[i + 2], 'payload', 'null', 'status', 'running', 'attempt', attempt,
      'maxAttempts', ARGV[i + 4], 'enqueuedAt', now)
    index(id, h, ARGV[i + 2], 'running')
    out[#out + 1] = { 1, attempt }
  elseif isFinal(f[1]) then
    out[#out + 1] = { 0, redis.call('HGETALL', h) }
  elseif f[1] == 'running' and f[3] == '1' then
    finish(id, h, f, 'cancelled', nil, nil)
    out[#out + 1] = { 0, redis.call('HGETALL', h) }
  else
    local attempt = math.max((tonumber(f[2]) or 0) + 1, engineAttempt)
    redis.call('HSET', h, 'status', 'running', 'attempt', attempt)
    move(id, f[4], f[7], f[1], 'running')
    if f[6] then redis.call('HDEL', h, 'runAt') end
    -- Delivered before its enqueue was confirmed: the engine has it, so it is pending no more.
    redis.call('ZREM', PENDING, id)
    out[#out + 1] = { 1, attempt }
  end
end
publish(ARGV[3])
return out
`;

/**
 * ARGV: prefix, now, channel, succeededMs, failedMs ('' when not known), then per outcome: id,
 * kind (succeeded, failed, cancelled, returned), data (result or error JSON), retryAt ('' for none).
 */
export const SETTLE = `${PRELUDE}
local succeededMs, failedMs = optionalNumber(ARGV[4]), optionalNumber(ARGV[5])
for i = 6, #ARGV, 4 do
  local id, kind, data, retryAt = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local h = jobKey(id)
  local f = state(h)
  if f[1] and not isFinal(f[1]) then
    if f[3] == '1' or kind == 'cancelled' then
      finish(id, h, f, 'cancelled', succeededMs, failedMs)
    elseif kind == 'returned' then
      redis.call('HSET', h, 'status', 'queued', 'attempt', math.max(0, (tonumber(f[2]) or 0) - 1))
      move(id, f[4], f[7], f[1], 'queued')
    elseif kind == 'succeeded' then
      redis.call('HSET', h, 'result', data)
      finish(id, h, f, 'succeeded', succeededMs, failedMs)
    else
      redis.call('HSET', h, 'error', data)
      if retryAt == '' then
        finish(id, h, f, 'failed', succeededMs, failedMs)
      else
        redis.call('HSET', h, 'status', 'scheduled', 'runAt', retryAt)
        move(id, f[4], f[7], f[1], 'scheduled', retryAt)
      end
    end
  end
end
publish(ARGV[3])
return 0
`;

/**
 * ARGV: prefix, now, channel, succeededMs, failedMs, id. Returns 'cancelled' (it had not started),
 * 'requested' (it runs: its worker is told through the channel) or '' (finished, or unknown).
 */
export const CANCEL = `${PRELUDE}
local id = ARGV[6]
local h = jobKey(id)
local f = state(h)
if not f[1] or isFinal(f[1]) then return '' end
if f[1] == 'running' then
  if f[3] ~= '1' then
    redis.call('HSET', h, 'cancelRequested', '1')
    redis.call('SADD', CANCELLING, id)
    changes[1] = { id = id, status = 'running', cancelRequested = true }
    publish(ARGV[3])
  end
  return 'requested'
end
finish(id, h, f, 'cancelled', optionalNumber(ARGV[4]), optionalNumber(ARGV[5]))
redis.call('ZREM', PENDING, id)
publish(ARGV[3])
return 'cancelled'
`;

/** ARGV: prefix, now, id, value JSON. Only a job the store knows gets progress. */
export const PROGRESS = `${PRELUDE}
local h = jobKey(ARGV[3])
if redis.call('EXISTS', h) == 1 then redis.call('HSET', h, 'progress', ARGV[4]) end
return 0
`;

/**
 * ARGV: prefix, now, succeededMs, failedMs, limit. Deletes up to `limit` ids of each index:
 * pending records whose claim ran out, and finished jobs past their retention (each checked
 * against its hash, which may have gone by its own expiry). Returns `{deleted, looked at}`.
 */
export const SWEEP = `${PRELUDE}
local limit = tonumber(ARGV[5])
local deleted, seen = 0, 0
local ids = redis.call('ZRANGEBYSCORE', PENDING, '-inf', '(' .. ARGV[2], 'LIMIT', 0, limit)
for _, id in ipairs(ids) do
  local h = jobKey(id)
  local f = redis.call('HMGET', h, 'queue', 'dedupKey', 'status')
  if f[1] then
    release(id, f[1], f[2])
    unindex(id, f[1], f[3])
    redis.call('DEL', h)
    deleted = deleted + 1
  end
  redis.call('ZREM', PENDING, id)
end
seen = seen + #ids
for _, index in ipairs({ { SUCCEEDED, tonumber(ARGV[3]) }, { FAILED, tonumber(ARGV[4]) } }) do
  local cutoff = now - index[2]
  ids = redis.call('ZRANGEBYSCORE', index[1], '-inf', '(' .. cutoff, 'LIMIT', 0, limit)
  for _, id in ipairs(ids) do
    local h = jobKey(id)
    local f = redis.call('HMGET', h, 'finishedAt', 'queue', 'status')
    if f[1] and tonumber(f[1]) < cutoff then
      unindex(id, f[2], f[3])
      redis.call('DEL', h)
      deleted = deleted + 1
    end
    redis.call('ZREM', index[1], id)
  end
  seen = seen + #ids
end
for _, queue in ipairs(redis.call('SMEMBERS', prefix .. ':queues')) do seen = seen + trim(queue, limit) end
return { deleted, seen }
`;

/**
 * ARGV: prefix, now, trim limit, then queue names (none: every queue). Returns per queue: name,
 * scheduled records (due ones included), due ones, queued, running, succeeded, failed, cancelled,
 * and since when the oldest queued one could start ('' for none): the lowest in recording order,
 * or the earliest due, whichever came first.
 */
export const STATS = `${PRELUDE}
local queues = {}
for i = 4, #ARGV do queues[#queues + 1] = ARGV[i] end
if #queues == 0 then
  queues = redis.call('SMEMBERS', prefix .. ':queues')
  table.sort(queues)
end
local out = {}
for _, queue in ipairs(queues) do
  trim(queue, tonumber(ARGV[3]))
  local row = { queue, redis.call('ZCARD', queueKey(queue, 'scheduled')), redis.call('ZCOUNT', queueKey(queue, 'due'), '-inf', now) }
  for _, status in ipairs({ 'queued', 'running', 'succeeded', 'failed', 'cancelled' }) do
    row[#row + 1] = redis.call('ZCARD', queueKey(queue, status))
  end
  local readyAt = nil
  local first = redis.call('ZRANGE', queueKey(queue, 'queued'), 0, 0)[1]
  if first then
    local f = redis.call('HMGET', jobKey(first), 'enqueuedAt', 'runAt')
    readyAt = math.max(tonumber(f[1]) or now, tonumber(f[2]) or 0)
  end
  local due = redis.call('ZRANGEBYSCORE', queueKey(queue, 'due'), '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
  if due[2] and (not readyAt or tonumber(due[2]) < readyAt) then readyAt = tonumber(due[2]) end
  row[#row + 1] = readyAt and tostring(readyAt) or ''
  out[#out + 1] = row
end
return out
`;

/**
 * ARGV: prefix, now, queue, status ('' for any), before (the cursor: a seq, or '+inf'), count.
 * Returns up to count records of the queue below `before` in recording order, newest first, as
 * `{seq, id, fields}`; status read as get() reads it (a due scheduled record is queued). Records
 * whose hash is gone (expired) or whose claim ran out are passed over.
 */
export const LIST = `${PRELUDE}
local queue, status, count = ARGV[3], ARGV[4], tonumber(ARGV[6])

local function field(flat, name)
  for i = 1, #flat, 2 do if flat[i] == name then return flat[i + 1] end end
  return nil
end

-- The records of one index, newest first, that keep passes.
local function walk(part, keep)
  local bound, buffer, i = ARGV[5], {}, 1
  return function()
    while true do
      if i > #buffer then
        if bound == nil then return nil end
        buffer = redis.call('ZREVRANGEBYSCORE', queueKey(queue, part), bound, '-inf', 'WITHSCORES', 'LIMIT', 0, 100)
        i = 1
        if #buffer == 0 then bound = nil return nil end
        bound = '(' .. buffer[#buffer]
      end
      local id, seq = buffer[i], tonumber(buffer[i + 1])
      i = i + 2
      local fields = redis.call('HGETALL', jobKey(id))
      if #fields > 0 and not deadClaim(id) and keep(fields) then return { seq, id, fields } end
    end
  end
end

local function isDue(fields)
  local runAt = field(fields, 'runAt')
  return runAt == nil or runAt == '' or tonumber(runAt) <= now
end
local any = function() return true end

local streams
if status == '' then
  streams = { walk('all', any) }
elseif status == 'queued' then
  streams = { walk('queued', any), walk('scheduled', isDue) }
elseif status == 'scheduled' then
  streams = { walk('scheduled', function(fields) return not isDue(fields) end) }
else
  streams = { walk(status, any) }
end

-- Merge the streams by seq, newest first.
local heads = {}
for s = 1, #streams do heads[s] = streams[s]() end
local out = {}
while #out < count do
  local best = nil
  for s = 1, #streams do
    if heads[s] and (not best or heads[s][1] > heads[best][1]) then best = s end
  end
  if not best then break end
  out[#out + 1] = heads[best]
  heads[best] = streams[best]()
end
return out
`;
