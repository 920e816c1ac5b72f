#!lua name=rexian
-- rexian.lua -- the ticket store: every state change is one function here, run atomically by
-- Redis. Each checks the state machine, writes the change, appends the timeline entry, writes
-- the outbox record of every event it causes and appends to the tier's event stream. Applying
-- the same message twice changes nothing the second time: a consumer's function first checks
-- that the message's outbox record still exists, and removes it with the effect.
--
-- Keys (T = tier key, used as the hash tag so one tier lives in one cluster slot):
--   {T}:t:ID          hash      the ticket
--   {T}:t:ID:tl       list      timeline, JSON entries, append-only
--   {T}:t:ID:nt       hash      notifications: nid -> JSON delivery record
--   {T}:seq:YYYYMMDD  string    per-day ticket counter
--   {T}:idem:KEY      string    idempotency key -> ticket id (7 days)
--   {T}:ix:all, {T}:ix:unit:U, {T}:ix:status:S   zsets of ticket ids by creation time
--   {T}:q:manual      zset      the manual dispatch queue
--   {T}:ob:STAGE      zset      outbox: message id -> time it is due for (re)delivery
--   {T}:ob:STAGE:m    hash      message id -> frame (MessagePack bytes)
--   {T}:ob:STAGE:n    hash      message id -> deliveries claimed so far
--   {T}:ob:STAGE:e    hash      message id -> last error
--   {T}:ob:STAGE:l    hash      message id -> "instance|lease end" of the instance holding it
--   {T}:dl:STAGE      hash      dead letters: message id -> JSON {error, attempts, at, ticket}
--   {T}:dl:STAGE:m    hash      dead letters' frames
--   {T}:clk           zset      clock member "ID|stage|kind" -> due time (ms)
--   {T}:events        stream    every transition, for the parent tier's feed
--   {T}:stat          hash      tier counters
--   {T}:svc:STAGE     zset      live instances' endpoints -> heartbeat expiry (ms)
--   {T}:q:review      zset      returned orders waiting for a dispatcher's review
--   {T}:learn:returns hash      "not ours" returns: ticket -> JSON routing example
--   {T}:audit:phone   stream    every view of a whole phone number (who, which order)
--   {T}:audit:rulings stream    every supervisor ruling on a unit's claim
--   {T}:claims        zset      every claim "ID|n" by time, for the audit list
--   {T}:m:DAY         hash      live score counters "UNIT|metric" (see score_entry)
--   {T}:caller:KEY    zset      one caller's orders by time (KEY: keyed hash of the phone)
--   {T}:flags:callers zset      "KEY|UNIT" repeat callers flagged for supervisors
--   {T}:flagged:KEY:U string    a flag already raised in the window (expires)

local function key(tag, ...)
    return '{' .. tag .. '}:' .. table.concat({...}, ':')
end

-- The first n bytes of s, shortened to end on a UTF-8 character boundary (frames must hold
-- valid UTF-8: a cut inside a character would make the frame undeliverable).
local function cut(s, n)
    s = s or ''
    if #s <= n then return s end
    local i = n + 1
    while i > 1 and string.byte(s, i) >= 0x80 and string.byte(s, i) < 0xC0 do i = i - 1 end
    return string.sub(s, 1, i - 1)
end

local function frame(mtype, id, ts, src, tier, body)
    return cmsgpack.pack({v = 1, type = mtype, id = id, ts = ts, src = src, tier = tier,
                          body = body})
end

local function outbox_put(tag, stage, id, due, payload)
    redis.call('ZADD', key(tag, 'ob', stage), due, id)
    redis.call('HSET', key(tag, 'ob', stage, 'm'), id, payload)
end

local function outbox_has(tag, stage, id)
    return redis.call('ZSCORE', key(tag, 'ob', stage), id) ~= false
end

local function outbox_take(tag, stage, id)
    redis.call('ZREM', key(tag, 'ob', stage), id)
    redis.call('HDEL', key(tag, 'ob', stage, 'm'), id)
    redis.call('HDEL', key(tag, 'ob', stage, 'n'), id)
    redis.call('HDEL', key(tag, 'ob', stage, 'e'), id)
    redis.call('HDEL', key(tag, 'ob', stage, 'l'), id)
end

-- ---------------------------------------------------------------------------------------------
-- Scores. Every metric is a function of timeline entries alone (score_entry), applied live as
-- each entry is written and again by metrics_rebuild over the stored timelines, so the two
-- always agree. Counters live in {T}:m:DAY (DAY = Beijing days since 1970-01-01), fields
-- "UNIT|metric"; UNIT '*' is the whole tier.

local DAY_MS = 86400000
local function day_of(ms) return math.floor((ms + 8 * 3600000) / DAY_MS) end

-- The counters one entry moves: a list of {unit, metric}. excluded: the order has an accepted
-- claim, so its ratings do not count towards satisfaction.
local function score_entry(e, excluded)
    local out, u, w = {}, e.lead or e.unit, e.what
    if u == '' then u = nil end
    local function add(m) out[#out + 1] = {u, m} end
    if w == 'received' then
        out[1] = {'*', 'received'}
    elseif (w == 'dispatched' or w == 'redispatched') and u then
        add('dispatched')
    elseif w == 'reopened' and u then
        add('reopened')
    elseif w == 'ack' and e.as ~= 'co-handler' and u then
        add('acknowledged')
        if e.clock == 'met' then add('ack_on_time') end
    elseif w == 'return' and u then
        add('returned')
    elseif w == 'deadline.due' and u then
        add('overdue')
        if e.stage == 'close' then add('due') end
    elseif w == 'deadline.escalated' and u then
        add('escalated')
    elseif w == 'claim' and u then
        add('claims')
    elseif w == 'rule' and u then
        add(e.decision == 'accept' and 'claims_accepted' or 'claims_rejected')
    end
    if (w == 'rate' or w == 'close') and u and (e.close_clock == 'met' or e.close_clock == 'late') then
        add('closed')
        if e.close_clock == 'met' then
            add('closed_on_time')
            add('due') -- a deadline met counts as due in the period it was met
        end
    end
    if w == 'rate' and u and e.rating then
        add('rated_' .. e.rating)
        if excluded then add('excluded_' .. e.rating) end
    end
    return out
end

local function score_apply(tag, at, pairs_)
    if #pairs_ == 0 then return end
    local mk = key(tag, 'm', day_of(at))
    for _, p in ipairs(pairs_) do
        redis.call('HINCRBY', mk, p[1] .. '|' .. p[2], 1)
        if p[1] ~= '*' then redis.call('HINCRBY', mk, '*|' .. p[2], 1) end
    end
end

-- Units whose accepted claims took this order out of their satisfaction figures.
local function excluded_units(tag, tid)
    local x = cjson.decode(redis.call('HGET', key(tag, 't', tid), 'excluded_units') or '{}')
    return type(x) == 'table' and x or {}
end

local function timeline(tag, tid, entry)
    redis.call('RPUSH', key(tag, 't', tid, 'tl'), cjson.encode(entry))
    local excluded = false
    if entry.what == 'rate' and entry.lead then
        excluded = excluded_units(tag, tid)[entry.lead] ~= nil
    end
    score_apply(tag, entry.at, score_entry(entry, excluded))
end

local function event(tag, tid, etype, rev, now, data)
    redis.call('XADD', key(tag, 'events'), '*', 'ticket', tid, 'type', etype, 'rev', rev,
               'at', now, 'data', cjson.encode(data))
end

local function set_status(tag, tid, from, to, created)
    if from then redis.call('ZREM', key(tag, 'ix', 'status', from), tid) end
    redis.call('ZADD', key(tag, 'ix', 'status', to), created, tid)
end

-- A notification to deliver: the record shown on the ticket plus the notifier's outbox entry.
local function notify(tag, tid, now, src, due, nid, body)
    body.ticket = tid
    body.nid = nid
    local f = frame('notify', nid, now, src, tag, body)
    outbox_put(tag, 'notifier', nid, due, f)
    redis.call('HSET', key(tag, 't', tid, 'nt'), nid, cjson.encode({
        kind = body.kind, target = body.target, state = 'pending', attempts = 0,
        created_at = now}))
    return f
end

-- Links two orders both ways with the reason (at most 20 links an order).
local function link(tag, a, b, why)
    for _, pair in ipairs({{a, b}, {b, a}}) do
        local tk = key(tag, 't', pair[1])
        local links = cjson.decode(redis.call('HGET', tk, 'links') or '[]')
        if type(links) ~= 'table' then links = {} end
        local seen = false
        for _, l in ipairs(links) do
            if l.ticket == pair[2] then
                seen = true
                if not string.find(l.why, why, 1, true) then l.why = l.why .. '; ' .. why end
            end
        end
        if not seen and #links < 20 then links[#links + 1] = {ticket = pair[2], why = why} end
        redis.call('HSET', tk, 'links', cjson.encode(links))
    end
end

-- Bottom-k signatures (ascending hashes): the estimated % of character pairs in common.
local function similar(a, b)
    local i, j, both, all = 1, 1, 0, 0
    while (i <= #a or j <= #b) and all < 32 do
        if j > #b or (i <= #a and a[i] < b[j]) then
            i = i + 1
        elseif i > #a or b[j] < a[i] then
            j = j + 1
        else
            both = both + 1
            i = i + 1
            j = j + 1
        end
        all = all + 1
    end
    return all == 0 and 0 or math.floor(both * 100 / all)
end

-- At first dispatch: the same caller's other orders, orders about the same matter (same unit,
-- similar text, or the same address), and the repeat-caller flag for supervisors.
local function find_links(tag, tid, t, d, now, src, redeliver)
    local L = d.link
    if not L then return {} end
    local frames = {}
    local tk = key(tag, 't', tid)
    redis.call('HSET', tk, 'sig', cjson.encode(d.sig or {}))
    local since = now - L.window
    -- bounded work per order, even in a storm of near-identical calls: the 10 most recent
    -- orders of the unit are compared, and the 3 most similar are linked
    local recent = redis.call('ZREVRANGEBYSCORE', key(tag, 'ix', 'unit', d.unit), now, since,
                              'LIMIT', 0, 11)
    local best = {}
    for _, other in ipairs(recent) do
        if other ~= tid then
            local o = redis.call('HMGET', key(tag, 't', other), 'sig', 'address')
            local pct = similar(d.sig or {}, cjson.decode(o[1] or '[]'))
            if pct >= L.similarity then
                best[#best + 1] = {other, pct, 'same matter: ' .. pct .. '% similar text, same unit'}
            elseif (t.address or '') ~= '' and o[2] == t.address then
                best[#best + 1] = {other, 0, 'same address, same unit'}
            end
        end
    end
    table.sort(best, function(x, y) return x[2] > y[2] end)
    for i = 1, math.min(3, #best) do link(tag, tid, best[i][1], best[i][3]) end
    if (t.caller or '') == '' then return frames end
    local mine = redis.call('ZREVRANGEBYSCORE', key(tag, 'caller', t.caller), now,
                            now - L.repeat_window, 'LIMIT', 0, 100)
    local n = 0
    for _, other in ipairs(mine) do
        if other == tid or redis.call('HGET', key(tag, 't', other), 'unit') == d.unit then
            n = n + 1
        end
    end
    if n >= L.repeat_orders then
        redis.call('HSET', tk, 'repeat_caller', n)
        redis.call('ZADD', key(tag, 'flags', 'callers'), now, t.caller .. '|' .. d.unit)
        local fk = key(tag, 'flagged', t.caller, d.unit)
        if redis.call('SET', fk, now, 'NX', 'PX', L.repeat_window) then
            local nid = tid .. ':caller.repeat'
            frames[#frames + 1] = notify(tag, tid, now, src, now + redeliver, nid, {
                kind = 'caller.repeat', target = 'supervisor', unit = d.unit,
                caller = t.caller, summary = n .. ' orders from one caller against ' .. d.unit ..
                ' within the window'})
            timeline(tag, tid, {at = now, actor = src, role = 'router', what = 'caller_flagged',
                                unit = d.unit, note = n .. ' orders from this caller against ' ..
                                d.unit .. ' in the window; the supervisor was told'})
        end
    end
    return frames
end

-- ticket_create: ARGV tag, idem_key, now, yyyymmdd, id_prefix, src, redeliver_ms, fields(JSON)
-- Returns {ticket id, 1 created | 0 already existed, frame for the router or ''}.
redis.register_function('ticket_create', function(_, a)
    local tag, idem, now, day, prefix, src = a[1], a[2], tonumber(a[3]), a[4], a[5], a[6]
    local redeliver = tonumber(a[7])
    local f = cjson.decode(a[8])
    local ikey = key(tag, 'idem', idem)
    local existing = redis.call('GET', ikey)
    if existing then return {existing, 0, ''} end
    for _, k in ipairs({'channel', 'phone', 'text', 'actor'}) do
        if type(f[k]) ~= 'string' then return redis.error_reply('ticket_create: ' .. k ..
                                                                ' missing') end
    end
    for _, k in ipairs({'address', 'category', 'township', 'role'}) do
        if type(f[k]) ~= 'string' then f[k] = nil end
    end
    local seq = redis.call('INCR', key(tag, 'seq', day))
    local tid = string.format('%s-%s-%06d', prefix, day, seq)
    local tk = key(tag, 't', tid)
    redis.call('HSET', tk, 'id', tid, 'status', 'received', 'rev', 1, 'tier', tag,
               'channel', f.channel, 'phone', f.phone, 'text', f.text,
               'address', f.address or '', 'category', f.category or '',
               'township', f.township or '', 'created_at', now, 'updated_at', now,
               'created_by', f.actor, 'caller', f.caller or '')
    if f.caller and f.caller ~= '' then
        local ck = key(tag, 'caller', f.caller)
        local window = tonumber(f.link_window) or 7776000000
        for _, other in ipairs(redis.call('ZREVRANGEBYSCORE', ck, now, now - window,
                                          'LIMIT', 0, 10)) do
            link(tag, tid, other, 'same caller')
        end
        redis.call('ZADD', ck, now, tid)
    end
    timeline(tag, tid, {at = now, actor = f.actor, role = f.role, what = 'received',
                        note = 'channel ' .. f.channel})
    local body = {ticket = tid, text = f.text, address = f.address or '',
                  township = f.township or '', category = f.category or '',
                  channel = f.channel, created_at = now}
    local mid = tid .. ':created'
    local fr = frame('ticket.created', mid, now, src, tag, body)
    outbox_put(tag, 'router', mid, now + redeliver, fr)
    redis.call('SET', ikey, tid, 'EX', 604800)
    redis.call('ZADD', key(tag, 'ix', 'all'), now, tid)
    set_status(tag, tid, nil, 'received', now)
    redis.call('HINCRBY', key(tag, 'stat'), 'received', 1)
    event(tag, tid, 'received', 1, now, {channel = f.channel})
    return {tid, 1, fr}
end)

-- Dispatches ticket tid (fields t: status, rev, created_at, category, text) to a lead unit and
-- optional co-handlers: the ticket, the indexes, the timeline, the watcher's clock frame and a
-- new-order notification for each unit. Returns the frames {stage, frame, ...}.
local function dispatch_to(tag, tid, t, now, actor, role, d, redeliver, what)
    local tk = key(tag, 't', tid)
    local rev = tonumber(t.rev) + 1
    local co = d.co_units or {}
    redis.call('HSET', tk, 'status', 'dispatched', 'rev', rev, 'updated_at', now,
               'unit', d.unit, 'co_units', cjson.encode(co), 'urgency', d.urgency,
               'dispatched_at', now)
    if d.why then
        redis.call('HSET', tk, 'route_why', d.why, 'route_score', d.score or 0,
                   'route_candidates', cjson.encode(d.candidates or {}))
    end
    local created = tonumber(t.created_at)
    redis.call('ZADD', key(tag, 'ix', 'unit', d.unit), created, tid)
    for _, u in ipairs(co) do redis.call('ZADD', key(tag, 'ix', 'unit', u), created, tid) end
    set_status(tag, tid, t.status, 'dispatched', created)
    redis.call('ZREM', key(tag, 'q', 'manual'), tid)
    redis.call('ZREM', key(tag, 'q', 'review'), tid)
    timeline(tag, tid, {at = now, actor = actor, role = role, what = what, unit = d.unit,
                        co_units = (#co > 0) and co or nil, urgency = d.urgency,
                        note = d.why or d.note})
    local out = {}
    local wid = tid .. ':dispatched:' .. rev
    local wf = frame('ticket.dispatched', wid, now, actor, tag, {
        ticket = tid, unit = d.unit, co_units = co, urgency = d.urgency,
        category = t.category or '', dispatched_at = now})
    outbox_put(tag, 'watcher', wid, now + redeliver, wf)
    out[#out + 1] = 'watcher'
    out[#out + 1] = wf
    local units = {d.unit}
    for _, u in ipairs(co) do units[#units + 1] = u end
    local kind = d.kind or 'unit.new_order'
    for i, u in ipairs(units) do
        out[#out + 1] = 'notifier'
        out[#out + 1] = notify(tag, tid, now, actor, now + redeliver,
                               tid .. ':' .. kind .. ':' .. u .. ':' .. rev,
                               {kind = kind, target = u, unit = d.unit,
                                role = (i == 1) and 'lead' or 'co', urgency = d.urgency,
                                summary = cut(t.text or '', 300)})
    end
    redis.call('HINCRBY', key(tag, 'stat'), 'dispatched', 1)
    event(tag, tid, 'dispatched', rev, now, {unit = d.unit, co_units = co, urgency = d.urgency})
    return out, rev
end

-- A dispatcher's dispatch links like the router's: with the signature and settings the router
-- left on the order when it queued it for manual dispatch.
local function links_for_step(tag, tid, t, unit, now, src, redeliver)
    local cfg = cjson.decode(t.link_cfg or '{}')
    if type(cfg) ~= 'table' or not cfg.window then return {} end
    return find_links(tag, tid, t, {unit = unit, sig = cjson.decode(t.sig or '[]'), link = cfg},
                      now, src, redeliver)
end

local function load_ticket(tag, tid)
    local h = redis.call('HGETALL', key(tag, 't', tid))
    if #h == 0 then return nil end
    local t = {}
    for i = 1, #h, 2 do t[h[i]] = h[i + 1] end
    return t
end

-- ticket_dispatch: ARGV tag, message id, now, src, redeliver_ms, decision(JSON)
-- decision: {ticket, manual, unit, co_units, urgency, candidates, why, score}
-- Returns {1, frame for the watcher or '', frame for the notifier} or {0} when already applied.
redis.register_function('ticket_dispatch', function(_, a)
    local tag, mid, now, src, redeliver = a[1], a[2], tonumber(a[3]), a[4], tonumber(a[5])
    local d = cjson.decode(a[6])
    if not outbox_has(tag, 'router', mid) then return {0} end
    local tid = d.ticket
    local tk = key(tag, 't', tid)
    local t = load_ticket(tag, tid)
    if not t or t.status ~= 'received' then
        outbox_take(tag, 'router', mid)
        return {0}
    end
    local wf, nf = '', ''
    if d.manual then
        local rev = tonumber(t.rev) + 1
        local created = tonumber(t.created_at)
        redis.call('HSET', tk, 'status', 'pending_dispatch', 'rev', rev, 'updated_at', now,
                   'urgency', d.urgency, 'route_why', d.why, 'route_score', d.score,
                   'route_candidates', cjson.encode(d.candidates or {}),
                   'sig', cjson.encode(d.sig or {}), 'link_cfg', cjson.encode(d.link or {}))
        redis.call('ZADD', key(tag, 'q', 'manual'), now, tid)
        set_status(tag, tid, 'received', 'pending_dispatch', created)
        timeline(tag, tid, {at = now, actor = src, role = 'router', what = 'pending_dispatch',
                            note = d.why, candidates = d.candidates or {}})
        nf = notify(tag, tid, now, src, now + redeliver, tid .. ':manual:' .. rev,
                    {kind = 'dispatch.manual', target = 'dispatcher', urgency = d.urgency,
                     summary = cut(t.text, 300)})
        redis.call('HINCRBY', key(tag, 'stat'), 'manual', 1)
        event(tag, tid, 'pending_dispatch', rev, now, {candidates = d.candidates or {}})
        outbox_take(tag, 'router', mid)
        return {1, wf, nf}
    end
    local frames = dispatch_to(tag, tid, t, now, src, 'router', d, redeliver, 'dispatched')
    local flags = find_links(tag, tid, t, d, now, src, redeliver)
    outbox_take(tag, 'router', mid)
    -- the watcher's frame first, then every notification (lead, co-handlers, flags)
    local out = {1, frames[2]}
    for i = 4, #frames, 2 do out[#out + 1] = frames[i] end
    for _, f in ipairs(flags) do out[#out + 1] = f end
    return out
end)

-- clocks_set: ARGV tag, message id ('' when not from an outbox), now, src, ticket,
-- clocks(JSON), redeliver_ms. clocks = {what = 'start'|'rearm'|'recompute',
--   stages = {STAGE = {start, due, warn, esc, span}}, ['return'] = ms, provisional = 0|1}.
-- Each stage gets up to three clock members: "ID|STAGE|warn" (yellow, 催办 before the
-- deadline), "|due" (red: overdue) and "|esc" (督办 to the supervisor after the grace).
-- 'recompute' (a calendar year was installed) only moves clocks that are still running.
-- Returns {1[, frame for the notifier]} or {0} when already applied.
redis.register_function('clocks_set', function(_, a)
    local tag, mid, now, src, tid = a[1], a[2], tonumber(a[3]), a[4], a[5]
    local c = cjson.decode(a[6])
    local redeliver = tonumber(a[7] or '5000')
    if mid ~= '' and not outbox_has(tag, 'watcher', mid) then return {0} end
    local tk = key(tag, 't', tid)
    local ck = key(tag, 'clk')
    if redis.call('EXISTS', tk) == 0 then
        if mid ~= '' then outbox_take(tag, 'watcher', mid) end
        return {0}
    end
    local names, entry = {}, {at = now, actor = src, role = 'watcher',
                              what = c.what == 'rearm' and 'clock_rearmed' or
                                     c.what == 'recompute' and 'clocks_recomputed' or
                                     'clocks_started'}
    local DONE = {ack = 'ack_at', reply = 'replied_at', close = 'closed_at',
                  callback = 'rated_at'}
    for stage, k in pairs(c.stages) do
        local state = redis.call('HGET', tk, stage .. '_state')
        local done = tonumber(redis.call('HGET', tk, DONE[stage] or '-') or '')
        if c.what ~= 'recompute' and done and done >= k.start then
            -- the step came before its clock (the watcher was behind): record it as met/late
            redis.call('HSET', tk, stage .. '_due', k.due, stage .. '_start', k.start,
                       stage .. '_span', k.span or '', stage .. '_warn', k.warn,
                       stage .. '_esc', k.esc, stage .. '_light', '',
                       stage .. '_state', done <= k.due and 'met' or 'late',
                       stage .. '_done_at', done)
            names[#names + 1] = stage
            entry[stage .. '_due'] = k.due
        elseif c.what ~= 'recompute' or state == 'running' then
            -- a recomputation (a calendar year installed) moves the times but does not warn
            -- again for a deadline that was warned already
            local warned = c.what == 'recompute' and
                           redis.call('HGET', tk, stage .. '_light') == 'yellow' and
                           tonumber(redis.call('HGET', tk, stage .. '_due')) == k.due
            redis.call('HSET', tk, stage .. '_due', k.due, stage .. '_warn', k.warn,
                       stage .. '_esc', k.esc, stage .. '_start', k.start,
                       stage .. '_span', k.span or '', stage .. '_state', 'running',
                       stage .. '_light', warned and 'yellow' or '', stage .. '_escalated', '')
            if warned then
                redis.call('ZREM', ck, tid .. '|' .. stage .. '|warn')
            elseif k.warn < k.due then
                redis.call('ZADD', ck, k.warn, tid .. '|' .. stage .. '|warn')
            else
                redis.call('ZREM', ck, tid .. '|' .. stage .. '|warn')
            end
            redis.call('ZADD', ck, k.due, tid .. '|' .. stage .. '|due')
            redis.call('ZADD', ck, k.esc, tid .. '|' .. stage .. '|esc')
            redis.call('ZREM', key(tag, 'overdue'), tid .. '|' .. stage)
            names[#names + 1] = stage
            entry[stage .. '_due'] = k.due
        end
    end
    table.sort(names)
    entry.note = table.concat(names, ',')
    if c['return'] then redis.call('HSET', tk, 'return_due', c['return']) end
    redis.call('HSET', tk, 'clocks_provisional', c.provisional or 0)
    if c.provisional == 1 then
        redis.call('SADD', key(tag, 'provisional'), tid)
        entry.provisional = true
    else
        redis.call('SREM', key(tag, 'provisional'), tid)
    end
    if #names > 0 then timeline(tag, tid, entry) end
    -- deadlines are news for the parent tier's copy of the order too (tiers.lua)
    if #names > 0 then
        event(tag, tid, entry.what, tonumber(redis.call('HGET', tk, 'rev')) or 0, now,
              {stages = names})
    end
    if mid ~= '' then outbox_take(tag, 'watcher', mid) end
    -- the citizen hears the order number and when to expect a reply, once
    if c.stages.reply and redis.call('HSETNX', tk, 'citizen_told', now) == 1 then
        return {1, notify(tag, tid, now, src, now + redeliver, tid .. ':citizen.accepted',
                          {kind = 'citizen.accepted', target = 'citizen',
                           due_at = c.stages.reply.due})}
    end
    return {1}
end)

-- clocks_claim: ARGV tag, now, lease_ms, max. Leases up to max clocks that are due (their
-- score moves to now + lease so no other watcher takes them meanwhile; ZPOPMIN would take
-- clocks not yet due). Returns {member, score, ...} with the score before the lease.
redis.register_function('clocks_claim', function(_, a)
    local tag, now, lease, max = a[1], tonumber(a[2]), tonumber(a[3]), tonumber(a[4])
    local ck = key(tag, 'clk')
    local due = redis.call('ZRANGEBYSCORE', ck, '-inf', now, 'WITHSCORES', 'LIMIT', 0, max)
    for i = 1, #due, 2 do
        redis.call('ZADD', ck, 'XX', now + lease, due[i])
    end
    return due
end)

-- clock_fire: ARGV tag, member, now, src, redeliver_ms. warn: the stage turns yellow and the
-- unit gets a chase notice (催办); due: overdue, red, the unit is told; esc: the supervisor
-- gets a supervision notice (督办) and the unit a chase notice. Each fires once per deadline:
-- the member is removed, and the stage's state says whether it still applies.
-- Returns {1, frames...} or {0} when already fired or no longer running.
redis.register_function('clock_fire', function(_, a)
    local tag, member, now, src, redeliver = a[1], a[2], tonumber(a[3]), a[4], tonumber(a[5])
    local ck = key(tag, 'clk')
    if redis.call('ZSCORE', ck, member) == false then return {0} end
    local tid, stage, kind = string.match(member, '^(.-)|(%w+)|(%a+)$')
    if not tid then
        redis.call('ZREM', ck, member)
        return {0}
    end
    if kind == 'esc' and redis.call('HGET', key(tag, 't', tid), stage .. '_state') == 'running' then
        -- its deadline has not fired yet (another watcher holds it): escalate after it
        redis.call('ZADD', ck, now + 1000, member)
        return {0}
    end
    redis.call('ZREM', ck, member)
    local tk = key(tag, 't', tid)
    local t = redis.call('HMGET', tk, stage .. '_state', stage .. '_due', 'unit', 'rev',
                         stage .. '_unit', stage .. '_light', stage .. '_escalated', 'status')
    local state, due, unit = t[1], tonumber(t[2] or '0'), t[5] or t[3]
    local late = now - due
    local entry = {at = now, actor = src, role = 'watcher', stage = stage, due = due,
                   unit = unit}
    local out = {1}
    local function tell(k, target)
        out[#out + 1] = notify(tag, tid, now, src, now + redeliver,
                               tid .. ':' .. k .. ':' .. stage .. ':' .. due,
                               {kind = k, target = target, unit = unit, stage = stage,
                                due_at = due})
    end
    if kind == 'warn' then
        if state ~= 'running' or (t[6] or '') ~= '' then return {0} end
        redis.call('HSET', tk, stage .. '_light', 'yellow')
        entry.what = 'deadline.warning'
        tell('deadline.warning', unit)
    elseif kind == 'due' then
        if state ~= 'running' then return {0} end
        redis.call('HSET', tk, stage .. '_state', 'overdue', stage .. '_light', 'red',
                   'updated_at', now)
        redis.call('ZADD', key(tag, 'overdue'), due, tid .. '|' .. stage)
        entry.what = 'deadline.due'
        entry.late_ms = late
        if late > 60000 then entry.late = true end -- fired after an outage: say how late
        tell('deadline.due', unit)
        redis.call('HINCRBY', key(tag, 'stat'), 'overdue_' .. stage, 1)
    elseif kind == 'esc' then
        if state ~= 'overdue' or (t[7] or '') ~= '' then return {0} end
        redis.call('HSET', tk, stage .. '_escalated', now)
        entry.what = 'deadline.escalated'
        tell('deadline.escalated', 'supervisor')
        tell('deadline.chase', unit)
        redis.call('HINCRBY', key(tag, 'stat'), 'escalated_' .. stage, 1)
    else
        return {0}
    end
    timeline(tag, tid, entry)
    event(tag, tid, entry.what, tonumber(t[4]), now, {stage = stage, due = due})
    return out
end)

-- overdue_list: ARGV tag. Every stage now overdue: {ticket, stage, due, unit, escalated at,
-- status, ...} in due order.
redis.register_function{function_name = 'overdue_list', flags = {'no-writes'},
                        callback = function(_, a)
    local tag = a[1]
    local members = redis.call('ZRANGE', key(tag, 'overdue'), 0, 9999)
    local out = {}
    for _, m in ipairs(members) do
        local tid, stage = string.match(m, '^(.-)|(%w+)$')
        local t = redis.call('HMGET', key(tag, 't', tid), stage .. '_due', 'unit',
                             stage .. '_unit', stage .. '_escalated', 'status')
        out[#out + 1] = tid
        out[#out + 1] = stage
        out[#out + 1] = t[1] or ''
        out[#out + 1] = t[3] or t[2] or ''
        out[#out + 1] = t[4] or ''
        out[#out + 1] = t[5] or ''
    end
    return out
end}

-- clock_sources: ARGV tag, max. Tickets whose clocks were computed on a year without a
-- calendar, with what the watcher needs to compute them again: {ticket, JSON, ...}.
redis.register_function{function_name = 'clock_sources', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, max = a[1], tonumber(a[2])
    local ids = redis.call('SRANDMEMBER', key(tag, 'provisional'), max)
    local out = {}
    for _, tid in ipairs(ids) do
        local h = redis.call('HGETALL', key(tag, 't', tid))
        local t = {}
        for i = 1, #h, 2 do t[h[i]] = h[i + 1] end
        local stages = {}
        for _, st in ipairs({'ack', 'reply', 'close', 'callback'}) do
            if t[st .. '_state'] == 'running' and t[st .. '_start'] then
                stages[st] = {start = tonumber(t[st .. '_start']), span = t[st .. '_span'],
                              due = tonumber(t[st .. '_due'])}
            end
        end
        out[#out + 1] = tid
        out[#out + 1] = cjson.encode({urgency = t.urgency, category = t.category,
                                      stages = stages})
    end
    return out
end}

-- outbox_claim: ARGV tag, stage, now, lease_ms, max, max_deliveries, src. Leases up to max outbox
-- records whose time has passed and returns {dead letters made, frame, frame, ...}. A record
-- claimed more than max_deliveries times becomes a dead letter with its last error.
redis.register_function('outbox_claim', function(_, a)
    local tag, stage, now, lease = a[1], a[2], tonumber(a[3]), tonumber(a[4])
    local max, maxd, src = tonumber(a[5]), tonumber(a[6]), a[7] or ''
    local ob = key(tag, 'ob', stage)
    local ids = redis.call('ZRANGEBYSCORE', ob, '-inf', now, 'LIMIT', 0, max)
    local out, dead = {0}, 0
    for _, id in ipairs(ids) do
        local n = redis.call('HINCRBY', key(tag, 'ob', stage, 'n'), id, 1)
        local payload = redis.call('HGET', key(tag, 'ob', stage, 'm'), id)
        if n > maxd or not payload then
            local err = redis.call('HGET', key(tag, 'ob', stage, 'e'), id) or
                        ('not applied after ' .. (n - 1) .. ' redeliveries')
            local ok, msg = pcall(cmsgpack.unpack, payload or '')
            local tid = ok and type(msg) == 'table' and type(msg.body) == 'table' and
                        msg.body.ticket or nil
            redis.call('HSET', key(tag, 'dl', stage), id, cjson.encode({
                error = err, attempts = n - 1, at = now, ticket = tid}))
            if payload then redis.call('HSET', key(tag, 'dl', stage, 'm'), id, payload) end
            outbox_take(tag, stage, id)
            if stage == 'notifier' and tid then
                local nk = key(tag, 't', tid, 'nt')
                local rec = cjson.decode(redis.call('HGET', nk, id) or '{}')
                rec.state = 'dead'
                rec.last_error = err
                redis.call('HSET', nk, id, cjson.encode(rec))
                timeline(tag, tid, {at = now, actor = src, role = 'notifier',
                                    what = 'notification_dead', target = rec.target,
                                    kind = rec.kind, nid = id, note = err})
            end
            dead = dead + 1
        else
            redis.call('ZADD', ob, 'XX', now + lease, id)
            redis.call('HSET', key(tag, 'ob', stage, 'l'), id, src .. '|' .. (now + lease))
            out[#out + 1] = payload
        end
    end
    out[1] = dead
    return out
end)

-- notify_lease: ARGV tag, now, lease_ms, src, id... Hides each still-pending notification for
-- the lease so no other notifier delivers it meanwhile. Returns {1|0, ...}: 0 = delivered
-- already, or leased by another instance whose lease has not ended.
redis.register_function('notify_lease', function(_, a)
    local tag, now, lease, src = a[1], tonumber(a[2]), tonumber(a[3]), a[4]
    local ob = key(tag, 'ob', 'notifier')
    local lk = key(tag, 'ob', 'notifier', 'l')
    local out = {}
    for i = 5, #a do
        local held = redis.call('HGET', lk, a[i])
        local holder, expiry = nil, 0
        if held then holder, expiry = string.match(held, '^(.*)|(%d+)$') end
        if redis.call('ZSCORE', ob, a[i]) == false then
            out[#out + 1] = 0 -- delivered already
        elseif holder and holder ~= src and tonumber(expiry) > now then
            out[#out + 1] = 0 -- another instance holds it
        else
            redis.call('ZADD', ob, 'XX', now + lease, a[i])
            redis.call('HSET', lk, a[i], src .. '|' .. (now + lease))
            out[#out + 1] = 1
        end
    end
    return out
end)

-- notify_release: ARGV tag, now, src, id... A notifier that stops hands back what it leased
-- and did not finish: due at once for any other instance. Returns how many.
redis.register_function('notify_release', function(_, a)
    local tag, now, src = a[1], tonumber(a[2]), a[3]
    local ob = key(tag, 'ob', 'notifier')
    local lk = key(tag, 'ob', 'notifier', 'l')
    local n = 0
    for i = 4, #a do
        local held = redis.call('HGET', lk, a[i])
        if held and string.match(held, '^(.*)|') == src then
            redis.call('ZADD', ob, 'XX', now, a[i])
            redis.call('HDEL', lk, a[i])
            n = n + 1
        end
    end
    return n
end)

-- notify_result: ARGV tag, nid, now, src, ticket, ok(1|0), http status, error, waits (the
-- backoff after attempt 1, 2, ... in ms, comma-separated), max_attempts, endpoint. Records the
-- attempt on the ticket; delivered -> done; failed -> retried after the wait for this attempt,
-- or a dead letter after max_attempts. Returns {state}.
redis.register_function('notify_result', function(_, a)
    local tag, nid, now, src, tid = a[1], a[2], tonumber(a[3]), a[4], a[5]
    local ok, status, err, waits = a[6] == '1', tonumber(a[7]), a[8], a[9]
    local max_attempts, endpoint = tonumber(a[10]), a[11]
    if not outbox_has(tag, 'notifier', nid) then return {'gone'} end
    local nk = key(tag, 't', tid, 'nt')
    local rec = cjson.decode(redis.call('HGET', nk, nid) or '{}')
    rec.attempts = (rec.attempts or 0) + 1
    rec.last_attempt_at = now
    rec.last_status = status
    rec.endpoint = endpoint
    local state
    if ok then
        state = 'delivered'
        rec.delivered_at = now
        rec.last_error = nil
        timeline(tag, tid, {at = now, actor = src, role = 'notifier', what = 'notified',
                            target = rec.target, kind = rec.kind, nid = nid,
                            attempts = rec.attempts})
        outbox_take(tag, 'notifier', nid)
    else
        rec.last_error = err
        if rec.attempts >= max_attempts then
            state = 'dead'
            local payload = redis.call('HGET', key(tag, 'ob', 'notifier', 'm'), nid)
            redis.call('HSET', key(tag, 'dl', 'notifier'), nid, cjson.encode({
                error = err, attempts = rec.attempts, at = now, ticket = tid}))
            if payload then redis.call('HSET', key(tag, 'dl', 'notifier', 'm'), nid, payload) end
            outbox_take(tag, 'notifier', nid)
            timeline(tag, tid, {at = now, actor = src, role = 'notifier',
                                what = 'notification_dead', target = rec.target,
                                kind = rec.kind, nid = nid, note = err})
        else
            state = 'retrying'
            local wait, i = 1000, 0
            for w in string.gmatch(waits, '%d+') do
                i = i + 1
                wait = tonumber(w)
                if i >= rec.attempts then break end
            end
            local retry_at = now + wait
            rec.next_attempt_at = retry_at
            redis.call('ZADD', key(tag, 'ob', 'notifier'), 'XX', retry_at, nid)
            redis.call('HSET', key(tag, 'ob', 'notifier', 'e'), nid, err)
        end
    end
    rec.state = state
    redis.call('HSET', nk, nid, cjson.encode(rec))
    return {state}
end)

-- ---------------------------------------------------------------------------------------------
-- The work-order lifecycle: every step a person takes on an order.
--
-- ticket_step: ARGV tag, now, src, redeliver_ms, actor(JSON {name, role, unit}), ticket id,
-- step, body(JSON, already type-checked by intake), settings(JSON {max_extensions}).
-- Returns {1, status, rev, extra(JSON), stage, frame, stage, frame, ...} on success, or
-- {0, http status, code, message} when the step is not allowed; nothing is written then.

local OPEN = {received = true, pending_dispatch = true, dispatched = true, acknowledged = true,
              returned = true, replied = true}

-- step -> who may take it, in which states, and whether a unit must be the lead ('lead'), the
-- lead or a co-handler ('member').
local STEPS = {
    resolve = {roles = {operator = 1, admin = 1}, states = {'received', 'pending_dispatch'}},
    reject = {roles = {operator = 1, admin = 1}, states = {'received', 'pending_dispatch'}},
    dispatch = {roles = {dispatcher = 1, admin = 1}, states = {'pending_dispatch'}},
    ack = {roles = {unit = 1}, scope = 'member', states = {'dispatched', 'acknowledged'}},
    ['return'] = {roles = {unit = 1}, scope = 'lead', states = {'dispatched', 'acknowledged'}},
    ['review-return'] = {roles = {dispatcher = 1, admin = 1}, states = {'returned'}},
    subdispatch = {roles = {unit = 1}, scope = 'lead', states = {'acknowledged'}},
    extend = {roles = {unit = 1}, scope = 'lead', states = {'dispatched', 'acknowledged'}},
    ['decide-extension'] = {roles = {supervisor = 1, admin = 1},
                            states = {'dispatched', 'acknowledged', 'returned'}},
    reply = {roles = {unit = 1}, scope = 'member', states = {'acknowledged'}},
    rate = {roles = {callback = 1, admin = 1}, states = {'replied'}},
    close = {roles = {supervisor = 1, admin = 1},
             states = {'pending_dispatch', 'dispatched', 'acknowledged', 'returned', 'replied'}},
    merge = {roles = {dispatcher = 1, operator = 1, admin = 1},
             states = {'received', 'pending_dispatch', 'dispatched'}},
    explain = {roles = {unit = 1}, scope = 'member',
               states = {'dispatched', 'acknowledged', 'returned', 'replied', 'closed'}},
    claim = {roles = {unit = 1}, scope = 'lead',
             states = {'dispatched', 'acknowledged', 'returned', 'replied', 'closed'}},
    rule = {roles = {supervisor = 1, admin = 1},
            states = {'dispatched', 'acknowledged', 'returned', 'replied', 'closed'}},
    pause = {roles = {unit = 1, supervisor = 1, admin = 1}, scope = 'lead',
             states = {'dispatched', 'acknowledged'}},
    resume = {roles = {unit = 1, operator = 1, supervisor = 1, admin = 1}, scope = 'lead',
              states = {'dispatched', 'acknowledged'}},
}
local STEP_ORDER = {'resolve', 'reject', 'dispatch', 'ack', 'return', 'review-return',
                    'subdispatch', 'extend', 'decide-extension', 'reply', 'rate', 'close',
                    'merge', 'pause', 'resume', 'explain', 'claim', 'rule'}

local function contains(list, v)
    for _, x in ipairs(list) do if x == v then return true end end
    return false
end

local function member_of(t, unit)
    if t.unit == unit then return 'lead' end
    local co = cjson.decode(t.co_units or '[]')
    if type(co) == 'table' and contains(co, unit) then return 'co' end
    local subs = cjson.decode(t.subs or '[]')
    if type(subs) == 'table' then
        for _, s in ipairs(subs) do if s.unit == unit then return 'sub' end end
    end
    return nil
end

-- The steps this actor could take on the order now, for a 409's message.
local function allowed_now(t, actor)
    local out = {}
    for _, name in ipairs(STEP_ORDER) do
        local s = STEPS[name]
        if s.roles[actor.role] and contains(s.states, t.status) then
            if actor.role ~= 'unit' or s.scope == 'member' and member_of(t, actor.unit) or
                s.scope == 'lead' and t.unit == actor.unit then
                out[#out + 1] = name
            end
        end
    end
    return out
end

local function fmt_states(list) return table.concat(list, ', ') end

-- Ends a stage clock: 'met' or 'late' against its due time, 'stopped' when the order ended.
local function stop_clock(tk, t, stage, now, how)
    local cur = t[stage .. '_state']
    if cur ~= 'running' and cur ~= 'overdue' and cur ~= 'paused' then return end
    local state = how
    if not state then
        local due = tonumber(t[stage .. '_due'] or '0')
        -- while paused the clock stood still at the pause
        local at = (cur == 'paused' and tonumber(t.paused_at or '')) or now
        state = (at <= due) and 'met' or 'late'
    end
    redis.call('HSET', tk, stage .. '_state', state, stage .. '_done_at', now)
    t[stage .. '_state'] = state
    local tag, tid = t.tier, t.id
    for _, kind in ipairs({'warn', 'due', 'esc'}) do
        redis.call('ZREM', key(tag, 'clk'), tid .. '|' .. stage .. '|' .. kind)
    end
    redis.call('ZREM', key(tag, 'overdue'), tid .. '|' .. stage)
end

local function stop_all(tk, t, now)
    for _, st in ipairs({'ack', 'reply', 'close', 'callback'}) do
        stop_clock(tk, t, st, now, 'stopped')
    end
end

-- A clock the watcher must compute (calendar arithmetic lives there): callback after a reply,
-- a moved close deadline after an approved extension.
local function clock_request(tag, tid, t, now, src, redeliver, rev, stages, due)
    local mid = tid .. ':clock:' .. table.concat(stages, '+') .. ':' .. rev
    local f = frame('clock.start', mid, now, src, tag, {
        ticket = tid, stages = stages, start = now, urgency = t.urgency or 'normal',
        category = t.category or '', due = due})
    outbox_put(tag, 'watcher', mid, now + redeliver, f)
    return f
end

redis.register_function('ticket_step', function(_, a)
    local tag, now, src, redeliver = a[1], tonumber(a[2]), a[3], tonumber(a[4])
    local actor, tid, step = cjson.decode(a[5]), a[6], a[7]
    local b, settings = cjson.decode(a[8]), cjson.decode(a[9])
    local spec = STEPS[step]
    if not spec then return {0, 404, 'unknown_step', 'no step ' .. step} end
    local t = load_ticket(tag, tid)
    if not t then return {0, 404, 'not_found', 'no ticket ' .. tid} end
    local tk = key(tag, 't', tid)
    local who = actor.role == 'unit' and member_of(t, actor.unit) or nil
    if actor.role == 'unit' and not who then
        return {0, 404, 'not_found', 'no ticket ' .. tid} -- others' orders do not exist for a unit
    end
    if not spec.roles[actor.role] then
        return {0, 403, 'forbidden', 'the ' .. actor.role .. ' role may not ' .. step ..
                ' an order'}
    end
    if b.rev and tonumber(b.rev) ~= tonumber(t.rev) then
        return {0, 409, 'conflict', 'order ' .. tid .. ' changed: it is at revision ' .. t.rev ..
                ', the request was made against revision ' .. tostring(b.rev) ..
                '; reload it and try again'}
    end
    if actor.role == 'unit' and (spec.scope == 'lead' and who ~= 'lead' or
                                 spec.scope == 'member' and who == 'sub') then
        return {0, 409, 'not_lead', step .. ' is for the lead unit (' .. t.unit .. ') of order ' ..
                tid .. '; ' .. actor.unit .. ' is a ' .. (who == 'co' and 'co-handler' or
                'sub-dispatch unit')}
    end
    if not contains(spec.states, t.status) then
        local can = allowed_now(t, actor)
        return {0, 409, 'illegal_step', 'order ' .. tid .. ' is ' .. t.status .. '; ' .. step ..
                ' is allowed when it is ' .. fmt_states(spec.states) .. '. Allowed now: ' ..
                (#can > 0 and table.concat(can, ', ') or 'nothing for your role')}
    end

    local rev = tonumber(t.rev) + 1
    local created = tonumber(t.created_at)
    local frames, extra = {}, {}
    local who_name = actor.name
    local entry = {at = now, actor = who_name, role = actor.role, unit = actor.unit,
                   what = step}
    local function put(stage, f) frames[#frames + 1] = stage; frames[#frames + 1] = f end
    local function tell(kind, target, fields)
        fields = fields or {}
        fields.kind = kind
        fields.target = target
        fields.unit = fields.unit or t.unit
        fields.step = step
        put('notifier', notify(tag, tid, now, src, now + redeliver,
                               tid .. ':' .. kind .. ':' .. target .. ':' .. rev, fields))
    end
    local function move(to)
        set_status(tag, tid, t.status, to, created)
        if t.status == 'pending_dispatch' then redis.call('ZREM', key(tag, 'q', 'manual'), tid) end
        if t.status == 'returned' then redis.call('ZREM', key(tag, 'q', 'review'), tid) end
        redis.call('HSET', tk, 'status', to)
        t.status = to
    end

    if step == 'resolve' then
        move('closed')
        redis.call('HSET', tk, 'resolution', 'first_contact', 'answer', b.answer,
                   'closed_at', now)
        stop_all(tk, t, now)
        entry.note = b.answer
        redis.call('HINCRBY', key(tag, 'stat'), 'resolved_first_contact', 1)
    elseif step == 'reject' then
        move('rejected')
        redis.call('HSET', tk, 'resolution', 'rejected', 'reject_reason', b.reason,
                   'reject_note', b.note or '', 'closed_at', now)
        stop_all(tk, t, now)
        entry.reason = b.reason
        entry.note = b.note
        tell('citizen.rejected', 'citizen', {reason = b.reason})
    elseif step == 'dispatch' then
        if b.unit == t.returned_by and not b.same_unit then
            return {0, 409, 'same_unit', 'order ' .. tid .. ' was returned by ' .. b.unit}
        end
        local out
        out, rev = dispatch_to(tag, tid, t, now, who_name, actor.role,
                               {unit = b.unit, co_units = b.co_units,
                                urgency = b.urgency or t.urgency or 'normal', note = b.note},
                               redeliver, 'dispatched')
        for _, f in ipairs(out) do frames[#frames + 1] = f end
        for _, f in ipairs(links_for_step(tag, tid, t, b.unit, now, src, redeliver)) do
            put('notifier', f)
        end
        entry = nil
    elseif step == 'ack' then
        if who == 'lead' then
            if t.status ~= 'dispatched' then
                return {0, 409, 'illegal_step', 'order ' .. tid .. ' is already acknowledged'}
            end
            move('acknowledged')
            redis.call('HSET', tk, 'ack_at', now)
            stop_clock(tk, t, 'ack', now)
            -- acknowledged before the watcher even started the clock: on time
            entry.clock = (t.ack_due == nil) and 'met' or t.ack_state
        else
            local acks = cjson.decode(t.co_acks or '{}')
            if acks[actor.unit] then
                return {0, 409, 'illegal_step', actor.unit .. ' acknowledged order ' .. tid ..
                        ' already'}
            end
            acks[actor.unit] = now
            redis.call('HSET', tk, 'co_acks', cjson.encode(acks))
            entry.as = 'co-handler'
        end
    elseif step == 'return' then
        local window = tonumber(t.return_due or '0')
        if window > 0 and now > window then
            return {0, 409, 'return_window_closed', 'the return window of order ' .. tid ..
                    ' ended at ' .. window .. ' (ms); ask the dispatcher instead'}
        end
        local prev = t.status
        move('returned')
        local returned = cjson.decode(t.returned_units or '[]')
        if type(returned) ~= 'table' then returned = {} end
        returned[#returned + 1] = actor.unit
        redis.call('HSET', tk, 'returned_by', actor.unit, 'return_reason', b.reason,
                   'return_note', b.note or '', 'return_prev_status', prev,
                   'returned_units', cjson.encode(returned))
        redis.call('ZADD', key(tag, 'q', 'review'), now, tid)
        if b.reason == 'not_our_responsibility' then
            redis.call('HSET', key(tag, 'learn', 'returns'), tid, cjson.encode({
                text = t.text, address = t.address, returned_unit = actor.unit, at = now}))
        end
        entry.reason = b.reason
        entry.note = b.note
        tell('return.review', 'dispatcher', {reason = b.reason, note = b.note})
        tell('return.review', 'supervisor', {reason = b.reason, note = b.note})
        redis.call('HINCRBY', key(tag, 'stat'), 'returned', 1)
    elseif step == 'review-return' then
        entry.decision = b.decision
        entry.note = b.reason
        if b.decision == 'redispatch' then
            if contains(cjson.decode(t.returned_units or '[]'), b.unit) then
                return {0, 409, 'same_unit', b.unit .. ' returned order ' .. tid ..
                        '; redispatching to it needs a decision: reject the return instead'}
            end
            timeline(tag, tid, entry)
            entry = nil
            local learn = redis.call('HGET', key(tag, 'learn', 'returns'), tid)
            if learn then
                local l = cjson.decode(learn)
                l.final_unit = b.unit
                redis.call('HSET', key(tag, 'learn', 'returns'), tid, cjson.encode(l))
            end
            local out
            out, rev = dispatch_to(tag, tid, t, now, who_name, actor.role,
                                   {unit = b.unit, co_units = b.co_units,
                                    urgency = t.urgency or 'normal', note = b.reason},
                                   redeliver, 'redispatched')
            for _, f in ipairs(out) do frames[#frames + 1] = f end
            for _, f in ipairs(links_for_step(tag, tid, t, b.unit, now, src, redeliver)) do
                put('notifier', f)
            end
        else
            move(t.return_prev_status or 'dispatched')
            tell('unit.return_rejected', t.unit, {reason = b.reason})
        end
    elseif step == 'subdispatch' then
        if b.unit == t.unit then
            return {0, 409, 'same_unit', 'a sub-dispatch goes to another unit than the lead'}
        end
        local subs = cjson.decode(t.subs or '[]')
        if type(subs) ~= 'table' then subs = {} end
        if #subs >= 8 then return {0, 409, 'too_many', 'at most 8 sub-dispatches per order'} end
        local n = #subs + 1
        subs[n] = {unit = b.unit, due = b.due, note = b.note, at = now, by = actor.unit}
        local stage = 'sub' .. n
        redis.call('HSET', tk, 'subs', cjson.encode(subs), stage .. '_due', b.due,
                   stage .. '_state', 'running', stage .. '_unit', b.unit)
        redis.call('ZADD', key(tag, 'clk'), b.due, tid .. '|' .. stage .. '|due')
        redis.call('ZADD', key(tag, 'ix', 'unit', b.unit), created, tid)
        entry.sub_unit = b.unit
        entry.due = b.due
        entry.note = b.note
        tell('unit.subdispatch', b.unit, {due_at = b.due, summary = b.note})
    elseif step == 'extend' then
        local due = tonumber(t.close_due or '0')
        if due > 0 and now >= due then
            return {0, 409, 'deadline_passed', 'an extension is requested before the deadline; ' ..
                    'the close deadline of order ' .. tid .. ' has passed'}
        end
        if t.extension_state == 'requested' then
            return {0, 409, 'pending', 'an extension request is already waiting for a decision'}
        end
        if tonumber(t.extensions or '0') >= (settings.max_extensions or 1) then
            return {0, 409, 'limit', 'order ' .. tid .. ' was extended ' .. (t.extensions or 0) ..
                    ' time(s) already; the limit is ' .. (settings.max_extensions or 1)}
        end
        if due > 0 and b['until'] <= due then
            return {0, 400, 'invalid_value', 'until must be later than the current close ' ..
                    'deadline'}
        end
        redis.call('HSET', tk, 'extension_state', 'requested', 'extension_until', b['until'],
                   'extension_reason', b.reason, 'extension_requested_at', now)
        entry.reason = b.reason
        entry['until'] = b['until']
        tell('extension.requested', 'supervisor', {reason = b.reason, due_at = b['until']})
    elseif step == 'decide-extension' then
        if t.extension_state ~= 'requested' then
            return {0, 409, 'illegal_step', 'order ' .. tid .. ' has no extension request ' ..
                    'waiting'}
        end
        entry.decision = b.decision
        entry.note = b.reason
        if b.decision == 'approve' then
            local untl = tonumber(t.extension_until)
            redis.call('HSET', tk, 'extension_state', 'approved', 'close_due', untl,
                       'close_state', 'running', 'close_light', '',
                       'extensions', tonumber(t.extensions or '0') + 1)
            for _, kind in ipairs({'warn', 'due', 'esc'}) do
                redis.call('ZREM', key(tag, 'clk'), tid .. '|close|' .. kind)
            end
            redis.call('ZREM', key(tag, 'overdue'), tid .. '|close')
            put('watcher', clock_request(tag, tid, t, now, src, redeliver, rev, {'close'}, untl))
            entry.due = untl
        else
            redis.call('HSET', tk, 'extension_state', 'refused')
        end
        tell('extension.decided', t.unit, {decision = b.decision, reason = b.reason,
                                           due_at = tonumber(t.extension_until)})
    elseif step == 'reply' then
        if who == 'co' then
            local replies = cjson.decode(t.co_replies or '{}')
            replies[actor.unit] = {text = b.text, at = now}
            redis.call('HSET', tk, 'co_replies', cjson.encode(replies))
            entry.as = 'co-handler'
            entry.note = b.text
            tell('co.reply', t.unit, {summary = cut(b.text, 300),
                                      from_unit = actor.unit})
        else
            move('replied')
            redis.call('HSET', tk, 'reply_text', b.text, 'replied_at', now,
                       'reply_evidence', cjson.encode(b.evidence or {}))
            stop_clock(tk, t, 'reply', now)
            put('watcher', clock_request(tag, tid, t, now, src, redeliver, rev, {'callback'}))
            entry.note = b.text
            entry.evidence = b.evidence
            entry.clock = t.reply_state
            tell('citizen.reply', 'citizen', {summary = cut(b.text, 300)})
            redis.call('HINCRBY', key(tag, 'stat'), 'replied', 1)
        end
    elseif step == 'rate' then
        redis.call('HSET', tk, 'rating', b.rating, 'rating_words', b.words or '',
                   'rated_at', now)
        stop_clock(tk, t, 'callback', now)
        entry.rating = b.rating
        entry.note = b.words
        entry.lead = t.unit
        if b.rating == 'satisfied' or b.rating == 'basically_satisfied' then
            move('closed')
            redis.call('HSET', tk, 'closed_at', now, 'resolution', 'closed')
            stop_clock(tk, t, 'close', now)
            entry.close_clock = t.close_state
            redis.call('HINCRBY', key(tag, 'stat'), 'closed', 1)
        elseif b.rating == 'unsatisfied' then
            local n = tonumber(t.reopened or '0') + 1
            redis.call('HSET', tk, 'reopened', n, 'extension_state', '', 'extensions', 0)
            timeline(tag, tid, entry)
            entry = nil
            local out
            out, rev = dispatch_to(tag, tid, t, now, who_name, actor.role,
                                   {unit = t.unit, co_units = cjson.decode(t.co_units or '[]'),
                                    urgency = t.urgency or 'normal', kind = 'unit.reopened',
                                    note = 'reopened after an unsatisfied rating'},
                                   redeliver, 'reopened')
            for _, f in ipairs(out) do frames[#frames + 1] = f end
            tell('supervisor.reopened', 'supervisor', {summary = b.words})
            redis.call('HINCRBY', key(tag, 'stat'), 'reopened', 1)
        end
    elseif step == 'close' then
        move('closed')
        redis.call('HSET', tk, 'closed_at', now, 'resolution', 'closed_by_supervisor',
                   'close_reason', b.reason)
        stop_clock(tk, t, 'close', now)
        entry.lead = t.unit
        entry.close_clock = t.close_state
        stop_clock(tk, t, 'ack', now, 'stopped')
        stop_clock(tk, t, 'reply', now, 'stopped')
        entry.note = b.reason
        redis.call('HINCRBY', key(tag, 'stat'), 'closed', 1)
    elseif step == 'pause' then
        -- waiting on the citizen (like RT's stalled statuses): the clocks stop counting
        if (t.paused_at or '') ~= '' then
            return {0, 409, 'illegal_step', 'the clocks of order ' .. tid .. ' are already paused'}
        end
        local paused = {}
        for _, st in ipairs({'ack', 'reply', 'close'}) do
            local cur = t[st .. '_state']
            if cur == 'running' or cur == 'overdue' then
                for _, kind in ipairs({'warn', 'due', 'esc'}) do
                    redis.call('ZREM', key(tag, 'clk'), tid .. '|' .. st .. '|' .. kind)
                end
                redis.call('HSET', tk, st .. '_state', 'paused', st .. '_paused_from', cur)
                paused[#paused + 1] = st
            end
        end
        redis.call('HSET', tk, 'paused_at', now, 'pause_reason', b.reason)
        entry.note = b.reason
        entry.clocks = table.concat(paused, ',')
    elseif step == 'resume' then
        if (t.paused_at or '') == '' then
            return {0, 409, 'illegal_step', 'the clocks of order ' .. tid .. ' are not paused'}
        end
        local d = now - tonumber(t.paused_at)
        for _, st in ipairs({'ack', 'reply', 'close'}) do
            if t[st .. '_state'] == 'paused' then
                local prev = t[st .. '_paused_from']
                local due = tonumber(t[st .. '_due']) + d
                local warn = tonumber(t[st .. '_warn'] or t[st .. '_due']) + d
                local esc = tonumber(t[st .. '_esc'] or t[st .. '_due']) + d
                redis.call('HSET', tk, st .. '_state', prev, st .. '_due', due,
                           st .. '_warn', warn, st .. '_esc', esc)
                if prev == 'running' then
                    if (t[st .. '_light'] or '') == '' and warn < due then
                        redis.call('ZADD', key(tag, 'clk'), warn, tid .. '|' .. st .. '|warn')
                    end
                    redis.call('ZADD', key(tag, 'clk'), due, tid .. '|' .. st .. '|due')
                end
                if (t[st .. '_escalated'] or '') == '' then
                    redis.call('ZADD', key(tag, 'clk'), esc, tid .. '|' .. st .. '|esc')
                end
            end
        end
        redis.call('HSET', tk, 'paused_at', '',
                   'paused_ms', tonumber(t.paused_ms or '0') + d)
        entry.paused_ms = d
        entry.note = b.note
    elseif step == 'explain' then
        -- a unit's side of the story, kept on the order for good
        entry.note = b.text
        entry.evidence = b.evidence
        redis.call('HINCRBY', tk, 'explanations', 1)
    elseif step == 'claim' then
        local claims = cjson.decode(t.claims or '[]')
        if type(claims) ~= 'table' then claims = {} end
        for _, cl in ipairs(claims) do
            if cl.status == 'pending' then
                return {0, 409, 'pending', 'claim ' .. cl.id .. ' on order ' .. tid ..
                        ' is still waiting for a ruling'}
            end
        end
        if #claims >= 10 then return {0, 409, 'limit', 'at most 10 claims per order'} end
        local id = #claims + 1
        claims[id] = {id = id, kind = b.kind, reason = b.reason, text = b.text,
                      evidence = b.evidence, by = actor.unit, by_actor = who_name, at = now,
                      status = 'pending'}
        redis.call('HSET', tk, 'claims', cjson.encode(claims))
        redis.call('ZADD', key(tag, 'claims'), now, tid .. '|' .. id)
        entry.claim = id
        entry.kind = b.kind
        entry.reason = b.reason
        entry.note = b.text
        entry.evidence = b.evidence
        entry.lead = t.unit
        extra.claim = id
        tell('claim.submitted', 'supervisor', {claim = id, reason = b.reason,
                                               summary = cut(b.text, 300)})
    elseif step == 'rule' then
        local claims = cjson.decode(t.claims or '[]')
        local cl = type(claims) == 'table' and claims[b.claim] or nil
        if not cl then
            return {0, 404, 'not_found', 'order ' .. tid .. ' has no claim ' .. tostring(b.claim)}
        end
        if cl.status ~= 'pending' then
            return {0, 409, 'illegal_step', 'claim ' .. b.claim .. ' was ruled already (' ..
                    cl.status .. ')'}
        end
        cl.status = (b.decision == 'accept') and 'accepted' or 'rejected'
        cl.ruled_by = who_name
        cl.ruled_at = now
        cl.ruling = b.reason
        redis.call('HSET', tk, 'claims', cjson.encode(claims))
        redis.call('XADD', key(tag, 'audit', 'rulings'), '*', 'ticket', tid, 'claim', b.claim,
                   'unit', cl.by, 'supervisor', who_name, 'decision', b.decision,
                   'reason', b.reason, 'kind', cl.kind, 'at', now)
        entry.claim = b.claim
        entry.decision = b.decision
        entry.note = b.reason
        entry.lead = cl.by -- the claiming unit, even if the order has moved on since
        local x = excluded_units(tag, tid)
        if b.decision == 'accept' and not x[cl.by] then
            -- the order leaves the claiming unit's satisfaction figures: its ratings for that
            -- unit so far, on the days they were given (later ones check when written)
            x[cl.by] = now
            redis.call('HSET', tk, 'excluded_units', cjson.encode(x))
            for _, raw in ipairs(redis.call('LRANGE', key(tag, 't', tid, 'tl'), 0, -1)) do
                local e = cjson.decode(raw)
                if e.what == 'rate' and e.rating and e.lead == cl.by then
                    score_apply(tag, e.at, {{e.lead, 'excluded_' .. e.rating}})
                end
            end
        end
        tell('claim.ruled', cl.by, {claim = b.claim, decision = b.decision, reason = b.reason})
    elseif step == 'merge' then
        if b.into == tid then return {0, 409, 'same_order', 'an order cannot merge into itself'} end
        local o = load_ticket(tag, b.into)
        if not o then return {0, 404, 'not_found', 'no ticket ' .. b.into .. ' to merge into'} end
        if not OPEN[o.status] then
            return {0, 409, 'illegal_step', 'order ' .. b.into .. ' is ' .. o.status ..
                    '; merge into an open order'}
        end
        move('merged')
        stop_all(tk, t, now)
        redis.call('HSET', tk, 'merged_into', b.into, 'closed_at', now)
        local merged = cjson.decode(o.merged or '[]')
        if type(merged) ~= 'table' then merged = {} end
        merged[#merged + 1] = tid
        redis.call('HSET', key(tag, 't', b.into), 'merged', cjson.encode(merged))
        timeline(tag, b.into, {at = now, actor = who_name, role = actor.role,
                               what = 'merged_from', ticket = tid, note = b.note})
        entry.into = b.into
        entry.note = b.note
        extra.into = b.into
        tell('citizen.merged', 'citizen', {into = b.into})
    end

    if entry then timeline(tag, tid, entry) end
    if rev == tonumber(t.rev) + 1 then
        redis.call('HSET', tk, 'rev', rev, 'updated_at', now)
    end
    event(tag, tid, step, rev, now, {actor = who_name, role = actor.role})
    local status = redis.call('HGET', tk, 'status')
    local out = {1, status, rev, cjson.encode(extra)}
    for _, f in ipairs(frames) do out[#out + 1] = f end
    return out
end)

-- returns_list: ARGV tag. Orders returned as "not our responsibility": {ticket, JSON, ...}
-- with text, address, the returning unit and, once redispatched, the final unit. These are
-- labelled routing examples for improving the catalogue.
redis.register_function{function_name = 'returns_list', flags = {'no-writes'},
                        callback = function(_, a)
    return redis.call('HGETALL', key(a[1], 'learn', 'returns'))
end}

-- metrics_rebuild: ARGV tag, offset, count, from_day, to_day, [unit, metric]. Recomputes the
-- counters of `count` orders (newest first from offset in {T}:ix:all) from their timelines
-- alone, for days in [from_day, to_day]. Returns {orders read, "DAY|UNIT|metric", n, ...};
-- with unit and metric, returns {orders read, ticket, ...}: the orders behind that number.
redis.register_function{function_name = 'metrics_rebuild', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, offset, count = a[1], tonumber(a[2]), tonumber(a[3])
    local from, to, unit, metric = tonumber(a[4]), tonumber(a[5]), a[6], a[7]
    local ids = redis.call('ZREVRANGE', key(tag, 'ix', 'all'), offset, offset + count - 1)
    local sums, out, hit = {}, {#ids}, {}
    for _, tid in ipairs(ids) do
        local entries = {}
        local excluded = {}
        for _, raw in ipairs(redis.call('LRANGE', key(tag, 't', tid, 'tl'), 0, -1)) do
            local e = cjson.decode(raw)
            entries[#entries + 1] = e
            if e.what == 'rule' and e.decision == 'accept' and e.lead then
                excluded[e.lead] = true
            end
        end
        for _, e in ipairs(entries) do
            local d = day_of(e.at)
            if d >= from and d <= to then
                for _, p in ipairs(score_entry(e, e.what == 'rate' and e.lead ~= nil and
                                                  excluded[e.lead] == true)) do
                    if unit then
                        if (p[1] == unit or unit == '*') and p[2] == metric and
                            not hit[tid] then
                            hit[tid] = true
                            out[#out + 1] = tid
                        end
                    else
                        local k1 = d .. '|' .. p[1] .. '|' .. p[2]
                        sums[k1] = (sums[k1] or 0) + 1
                        if p[1] ~= '*' then
                            local k2 = d .. '|*|' .. p[2]
                            sums[k2] = (sums[k2] or 0) + 1
                        end
                    end
                end
            end
        end
    end
    for k, n in pairs(sums) do
        out[#out + 1] = k
        out[#out + 1] = n
    end
    return out
end}

-- metrics_days: ARGV tag, from_day, to_day. The live counters: {DAY, {field, n, ...}, ...}.
redis.register_function{function_name = 'metrics_days', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, from, to = a[1], tonumber(a[2]), tonumber(a[3])
    local out = {}
    for d = from, to do
        local h = redis.call('HGETALL', key(tag, 'm', d))
        if #h > 0 then
            out[#out + 1] = d
            out[#out + 1] = h
        end
    end
    return out
end}

-- claims_list: ARGV tag, max. Every claim with its ruling, newest first:
-- {ticket, claim JSON, ...}.
redis.register_function{function_name = 'claims_list', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, max = a[1], tonumber(a[2])
    local out = {}
    for _, m in ipairs(redis.call('ZREVRANGE', key(tag, 'claims'), 0, max - 1)) do
        local tid, id = string.match(m, '^(.-)|(%d+)$')
        local claims = cjson.decode(redis.call('HGET', key(tag, 't', tid), 'claims') or '[]')
        local cl = claims[tonumber(id)]
        if cl then
            cl.text = cut(cl.text, 300)
            out[#out + 1] = tid
            out[#out + 1] = cjson.encode(cl)
        end
    end
    return out
end}

-- caller_orders: ARGV tag, caller key. The caller's whole history, oldest first:
-- {ticket, JSON summary, ...}.
redis.register_function{function_name = 'caller_orders', flags = {'no-writes'},
                        callback = function(_, a)
    local tag = a[1]
    local out = {}
    for _, tid in ipairs(redis.call('ZRANGE', key(tag, 'caller', a[2]), 0, 999)) do
        local t = redis.call('HMGET', key(tag, 't', tid), 'created_at', 'status', 'unit',
                             'text', 'rating', 'claims', 'links', 'repeat_caller',
                             'excluded_units')
        out[#out + 1] = tid
        out[#out + 1] = cjson.encode({created_at = tonumber(t[1]), status = t[2],
                                      unit = t[3], text = cut(t[4], 200), rating = t[5],
                                      claims = cjson.decode(t[6] or '[]'),
                                      links = cjson.decode(t[7] or '[]'),
                                      repeat_caller = tonumber(t[8] or '0'),
                                      excluded_for = cjson.decode(t[9] or '{}')})
    end
    return out
end}

-- ---------------------------------------------------------------------------------------------
-- Dead letters: messages that failed max_deliveries times, kept with their last error until an
-- operator retries or drops them.

local STAGES = {'router', 'watcher', 'notifier'}

-- dl_list: ARGV tag, stage ('' for all), max. {stage, id, JSON, ...}.
redis.register_function{function_name = 'dl_list', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, only, max = a[1], a[2], tonumber(a[3])
    local out = {}
    for _, stage in ipairs(STAGES) do
        if only == '' or only == stage then
            local h = redis.call('HGETALL', key(tag, 'dl', stage))
            for i = 1, #h, 2 do
                if #out >= max * 3 then return out end
                out[#out + 1] = stage
                out[#out + 1] = h[i]
                out[#out + 1] = h[i + 1]
            end
        end
    end
    return out
end}

-- dl_get: ARGV tag, stage, id. {JSON record, the message as JSON} or {}.
redis.register_function{function_name = 'dl_get', flags = {'no-writes'},
                        callback = function(_, a)
    local rec = redis.call('HGET', key(a[1], 'dl', a[2]), a[3])
    if not rec then return {} end
    local frame_ = redis.call('HGET', key(a[1], 'dl', a[2], 'm'), a[3])
    local ok, msg = pcall(cmsgpack.unpack, frame_ or '')
    return {rec, ok and cjson.encode(msg) or '{"error":"the message is not readable"}'}
end}

-- dl_retry: ARGV tag, stage, id, now, actor. Puts the message back in its outbox, due now, with
-- a fresh delivery count. Returns 1, or 0 when there is no such dead letter.
redis.register_function('dl_retry', function(_, a)
    local tag, stage, id, now, actor = a[1], a[2], a[3], tonumber(a[4]), a[5]
    local rec = redis.call('HGET', key(tag, 'dl', stage), id)
    local frame_ = redis.call('HGET', key(tag, 'dl', stage, 'm'), id)
    if not rec or not frame_ then return 0 end
    outbox_put(tag, stage, id, now, frame_)
    redis.call('HDEL', key(tag, 'dl', stage), id)
    redis.call('HDEL', key(tag, 'dl', stage, 'm'), id)
    local r = cjson.decode(rec)
    if stage == 'notifier' and r.ticket then
        local nk = key(tag, 't', r.ticket, 'nt')
        local n = cjson.decode(redis.call('HGET', nk, id) or '{}')
        n.state = 'pending'
        n.retried = (n.retried or 0) + 1
        n.attempts = 0
        redis.call('HSET', nk, id, cjson.encode(n))
    end
    redis.call('XADD', key(tag, 'audit', 'deadletters'), 'MAXLEN', '~', 100000, '*',
               'action', 'retry', 'stage', stage, 'id', id, 'actor', actor, 'at', now)
    return 1
end)

-- dl_drop: ARGV tag, stage, id, now, actor, reason. Deletes a dead letter for good (recorded).
redis.register_function('dl_drop', function(_, a)
    local tag, stage, id, now, actor, reason = a[1], a[2], a[3], tonumber(a[4]), a[5], a[6]
    if redis.call('HDEL', key(tag, 'dl', stage), id) == 0 then return 0 end
    redis.call('HDEL', key(tag, 'dl', stage, 'm'), id)
    redis.call('XADD', key(tag, 'audit', 'deadletters'), 'MAXLEN', '~', 100000, '*',
               'action', 'drop', 'stage', stage, 'id', id, 'actor', actor, 'reason', reason,
               'at', now)
    return 1
end)

-- ticket_get: ARGV tag, id. Returns {ticket fields (flat), timeline entries, notifications
-- (flat)} or {} when there is no such ticket.
redis.register_function{function_name = 'ticket_get', flags = {'no-writes'},
                        callback = function(_, a)
    local tk = key(a[1], 't', a[2])
    local h = redis.call('HGETALL', tk)
    if #h == 0 then return {} end
    return {h, redis.call('LRANGE', tk .. ':tl', 0, 999), redis.call('HGETALL', tk .. ':nt')}
end}

-- ticket_list: ARGV tag, index (e.g. 'all', 'unit:roads', 'status:dispatched'), offset,
-- limit, status filter or ''. Newest first. Returns {total, id, status, unit, urgency,
-- created_at, phone, text, ...}. With a status filter on another index, scans at most 5000.
redis.register_function{function_name = 'ticket_list', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, ix, offset, limit, status = a[1], a[2], tonumber(a[3]), tonumber(a[4]), a[5]
    local ik = key(tag, 'ix', ix)
    local out = {0}
    local ids
    if status == '' then
        out[1] = redis.call('ZCARD', ik)
        ids = redis.call('ZREVRANGE', ik, offset, offset + limit - 1)
    else
        local all = redis.call('ZREVRANGE', ik, 0, 4999)
        ids = {}
        local seen = 0
        for _, id in ipairs(all) do
            if redis.call('HGET', key(tag, 't', id), 'status') == status then
                seen = seen + 1
                if seen > offset and #ids < limit then ids[#ids + 1] = id end
            end
        end
        out[1] = seen
    end
    for _, id in ipairs(ids) do
        local r = redis.call('HMGET', key(tag, 't', id), 'id', 'status', 'unit', 'urgency',
                             'created_at', 'phone', 'text')
        for i = 1, 7 do out[#out + 1] = r[i] or '' end
    end
    return out
end}
