#!lua name=rexian_tiers
-- tiers.lua -- the links between tiers: a county's feed of its event stream to the city, the
-- city's copy of every county order, per-county counters and feed quality, and orders and
-- escalations (督办) the city sends down to a county. Loaded beside rexian.lua; like it, every
-- function is safe to run twice with the same arguments.
--
-- County keys (T = the county's tier key):
--   {T}:events          stream  every transition (rexian.lua); trimmed only below the id the
--                               city acknowledged, and never longer than the feed bound
--   {T}:feed            hash    acked (last id the city stored), lost (events trimmed before the
--                               city had them), lost_upto (the last such id)
--   {T}:feed:lease      string  the notifier instance that forwards the feed now
--   {T}:t:ID:cesc       set     city escalations already applied to an order
-- City keys (C = the city's tier key, K = a county's tier key):
--   {C}:cev:K           stream  the county's events, stored under the county's own stream ids
--   {C}:cf:K            hash    feed state: last id, last_at, gaps, dups, refused, uptime ...
--   {C}:cm:K            hash    event counts by type; {C}:cm:K:u "UNIT|type" by unit
--   {C}:ct:K:ID         hash    the county order as the city sees it (latest snapshot)
--   {C}:ct:K:ID:ev      list    its events, JSON, in order (at most 2000)
--   {C}:cix:all         zset    "K|ID" by creation time; {C}:cix:c:K ID by creation time
--   {C}:cix:overdue     zset    "K|ID" with a stage overdue now
--   {C}:counties        set     counties ever heard from
--   {C}:down            zset    outbox towards the counties: message id -> due time
--   {C}:down:m          hash    message id -> "K|frame"
--   {C}:down:n          hash    message id -> attempts
--   {C}:down:k          hash    message id -> "order|CITY_ID" or "escalate|CITY_ID|COUNTY_ID"
--   {C}:audit:escalations stream every escalation a city supervisor sent down

local function key(tag, ...)
    return '{' .. tag .. '}:' .. table.concat({...}, ':')
end

local function cut(s, n)
    s = s or ''
    if #s <= n then return s end
    local i = n + 1
    while i > 1 and string.byte(s, i) >= 0x80 and string.byte(s, i) < 0xC0 do i = i - 1 end
    return string.sub(s, 1, i - 1)
end

-- Stream ids "ms-seq" compared as numbers.
local function sid(s)
    local ms, seq = string.match(s or '', '^(%d+)-(%d+)$')
    if not ms then return tonumber(s) or 0, 0 end
    return tonumber(ms), tonumber(seq)
end

local function sid_lt(a, b)
    local am, as = sid(a)
    local bm, bs = sid(b)
    return am < bm or (am == bm and as < bs)
end

local function frame(mtype, id, ts, src, tier, body)
    return cmsgpack.pack({v = 1, type = mtype, id = id, ts = ts, src = src, tier = tier,
                          body = body})
end

local function hash(k)
    local h = redis.call('HGETALL', k)
    local t = {}
    for i = 1, #h, 2 do t[h[i]] = h[i + 1] end
    return t
end

-- A notification (as rexian.lua's notify): the record on the order plus the notifier's outbox.
local function notify(tag, tid, now, src, due, nid, body)
    body.ticket = tid
    body.nid = nid
    local f = frame('notify', nid, now, src, tag, body)
    redis.call('ZADD', key(tag, 'ob', 'notifier'), due, nid)
    redis.call('HSET', key(tag, 'ob', 'notifier', 'm'), nid, f)
    redis.call('HSET', key(tag, 't', tid, 'nt'), nid, cjson.encode({
        kind = body.kind, target = body.target, state = 'pending', attempts = 0,
        created_at = now}))
    return f
end

-- ---------------------------------------------------------------------------------------------
-- County side: the feed

-- The order's fields the city keeps (long texts shortened).
local SNAP = {'id', 'status', 'rev', 'unit', 'co_units', 'urgency', 'category', 'channel',
              'address', 'township', 'created_at', 'updated_at', 'dispatched_at', 'closed_at',
              'ack_due', 'ack_state', 'reply_due', 'reply_state', 'close_due', 'close_state',
              'callback_due', 'callback_state', 'ack_escalated', 'reply_escalated',
              'close_escalated', 'rating', 'resolution', 'city_origin', 'city_tier',
              'city_escalated', 'text', 'reply_text', 'returned_by', 'return_reason',
              'extension_state', 'extensions'}

local function snapshot(tag, tid)
    local v = redis.call('HMGET', key(tag, 't', tid), unpack(SNAP))
    local s = {}
    for i, f in ipairs(SNAP) do
        if v[i] then s[f] = v[i] end
    end
    s.text = s.text and cut(s.text, 2000) or nil
    s.reply_text = s.reply_text and cut(s.reply_text, 2000) or nil
    return cjson.encode(s)
end

-- feed_lease: ARGV tag, owner, lease_ms. One notifier instance forwards the feed at a time.
-- Returns 1 when owner holds the lease (taken or renewed), else 0.
redis.register_function('feed_lease', function(_, a)
    local lk = key(a[1], 'feed', 'lease')
    local cur = redis.call('GET', lk)
    if cur and cur ~= a[2] then return 0 end
    redis.call('SET', lk, a[2], 'PX', tonumber(a[3]))
    return 1
end)

-- feed_read: ARGV tag, after (a stream id), count (1..1000). The events after `after`, each
-- with a snapshot of its order as it is now. Returns {gap, id, ticket, type, rev, at, data,
-- snapshot, ...}; gap is 1 when events after `after` were trimmed before the city had them.
redis.register_function{function_name = 'feed_read', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, after, count = a[1], a[2], tonumber(a[3])
    if count < 1 or count > 1000 then return redis.error_reply('feed_read: count 1..1000') end
    local start = (after == '' or after == '0-0') and '-' or ('(' .. after)
    local entries = redis.call('XRANGE', key(tag, 'events'), start, '+', 'COUNT', count)
    local upto = redis.call('HGET', key(tag, 'feed'), 'lost_upto')
    local out = {(upto and sid_lt(after, upto)) and 1 or 0}
    local snaps = {}
    for _, e in ipairs(entries) do
        local f = {}
        for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end
        local tid = f.ticket or ''
        if not snaps[tid] then snaps[tid] = snapshot(tag, tid) end
        for _, v in ipairs({e[1], tid, f.type or '', f.rev or '0', f.at or '0',
                            f.data or '{}', snaps[tid]}) do
            out[#out + 1] = v
        end
    end
    return out
end}

-- feed_trim: ARGV tag, acked ('' = keep the stored one), bound. Records the city's ack, trims
-- the stream below it, and holds it to `bound` entries: beyond that the oldest events go even
-- unacknowledged (counted as lost). Returns {pending, lost, acked, length}.
redis.register_function('feed_trim', function(_, a)
    local tag, acked, bound = a[1], a[2], tonumber(a[3])
    local fk, st = key(tag, 'feed'), key(tag, 'events')
    local cur = redis.call('HGET', fk, 'acked') or '0-0'
    if acked ~= '' and sid_lt(cur, acked) then
        redis.call('HSET', fk, 'acked', acked)
        cur = acked
    end
    if cur ~= '0-0' then redis.call('XTRIM', st, 'MINID', cur) end
    local len = redis.call('XLEN', st)
    if len > bound then
        local gone = redis.call('XRANGE', st, '-', '+', 'COUNT', len - bound)
        redis.call('XTRIM', st, 'MAXLEN', bound)
        local n = 0
        for _, e in ipairs(gone) do
            if sid_lt(cur, e[1]) then n = n + 1 end
        end
        if n > 0 then
            redis.call('HINCRBY', fk, 'lost', n)
            redis.call('HSET', fk, 'lost_upto', gone[#gone][1])
        end
        len = redis.call('XLEN', st)
    end
    local pending = len
    local first = redis.call('XRANGE', st, '-', '+', 'COUNT', 1)
    if #first > 0 and not sid_lt(cur, first[1][1]) then pending = pending - 1 end
    return {pending, tonumber(redis.call('HGET', fk, 'lost') or '0'), cur, len}
end)

-- ---------------------------------------------------------------------------------------------
-- City side: storing a county's feed

-- link_hello: ARGV tag, county, now, pending, lost, bound. A county's heartbeat: uptime (time
-- between beats at most 3 s apart counts as up) and what it reports. Returns the last id stored.
redis.register_function('link_hello', function(_, a)
    local tag, county, now = a[1], a[2], tonumber(a[3])
    local fk = key(tag, 'cf', county)
    local seen = tonumber(redis.call('HGET', fk, 'seen_at') or '0')
    if seen == 0 then redis.call('HSET', fk, 'first_seen', now) end
    if seen > 0 and now > seen and now - seen <= 3000 then
        redis.call('HINCRBY', fk, 'up_ms', now - seen)
    end
    redis.call('HSET', fk, 'seen_at', now, 'pending', a[4], 'lost', a[5], 'bound', a[6])
    redis.call('SADD', key(tag, 'counties'), county)
    return redis.call('HGET', fk, 'last') or '0-0'
end)

local STAGES = {'ack', 'reply', 'close'}

-- The county order at the city, its indexes, counters and the city order it came from.
local function mirror(tag, county, tid, etype, rev, at, data, snap, now, id)
    local ok, s = pcall(cjson.decode, snap)
    if not ok or type(s) ~= 'table' then s = {} end
    local mk = key(tag, 'ct', county, tid)
    local cur = tonumber(redis.call('HGET', mk, 'rev') or '-1')
    if tonumber(s.rev or '0') >= cur then
        local args = {}
        for k, v in pairs(s) do
            if type(v) == 'string' then
                args[#args + 1] = k
                args[#args + 1] = v
            end
        end
        if #args > 0 then redis.call('HSET', mk, unpack(args)) end
    end
    redis.call('HSET', mk, 'county', county, 'ticket', tid, 'last_event', etype,
               'last_event_at', at, 'last_id', id)
    local created = tonumber(redis.call('HGET', mk, 'created_at') or at) or 0
    redis.call('ZADD', key(tag, 'cix', 'all'), created, county .. '|' .. tid)
    redis.call('ZADD', key(tag, 'cix', 'c', county), created, tid)
    local m = hash(mk)
    local overdue = false
    for _, st in ipairs(STAGES) do
        if m[st .. '_state'] == 'overdue' then overdue = true end
    end
    if overdue then
        redis.call('ZADD', key(tag, 'cix', 'overdue'), created, county .. '|' .. tid)
    else
        redis.call('ZREM', key(tag, 'cix', 'overdue'), county .. '|' .. tid)
    end
    local ek = mk .. ':ev'
    if redis.call('LLEN', ek) < 2000 then
        local okd, d = pcall(cjson.decode, data)
        redis.call('RPUSH', ek, cjson.encode({id = id, type = etype, rev = tonumber(rev),
                                              at = tonumber(at), data = okd and d or {}}))
    end
    redis.call('HINCRBY', key(tag, 'cm', county), etype, 1)
    if (m.unit or '') ~= '' then
        redis.call('HINCRBY', key(tag, 'cm', county, 'u'), m.unit .. '|' .. etype, 1)
    end
    -- an order the city sent down: the city's order follows the county's
    if (m.city_origin or '') ~= '' and m.city_tier == tag and etype ~= 'city_origin' then
        local ck = key(tag, 't', m.city_origin)
        if redis.call('EXISTS', ck) == 1 then
            redis.call('HSET', ck, 'county', county, 'county_ticket', tid,
                       'county_status', m.status or '', 'county_unit', m.unit or '',
                       'county_ack_due', m.ack_due or '', 'county_reply_due', m.reply_due or '',
                       'county_close_due', m.close_due or '', 'county_reply', m.reply_text or '',
                       'county_rating', m.rating or '', 'county_updated_at', now)
            if (m.reply_text or '') ~= '' and m.status == 'replied' then
                redis.call('HSET', ck, 'county_replied_at', m.updated_at or now)
            end
            local okd, d = pcall(cjson.decode, data)
            local entry = {
                at = tonumber(at), actor = 'county:' .. county, role = 'county',
                what = 'county.' .. etype, county_ticket = tid, status = m.status,
                unit = (m.unit ~= '' and m.unit) or nil,
                stage = okd and type(d) == 'table' and d.stage or nil,
                note = (etype == 'reply') and m.reply_text or nil}
            if string.sub(etype, 1, 6) == 'clock_' or string.sub(etype, 1, 7) == 'clocks_' then
                for _, st in ipairs(STAGES) do entry[st .. '_due'] = tonumber(m[st .. '_due']) end
            end
            redis.call('RPUSH', ck .. ':tl', cjson.encode(entry))
        end
    end
end

-- link_store: ARGV tag, county, now, bound, n, then n times: id, prev, gap, ticket, type, rev,
-- at, data, snapshot. Stores each event under the county's id (XADD refuses an id at or below
-- the stream's last: a resend is a duplicate), in order: an event whose prev is not the last
-- stored one means something in between is missing, so it and the rest are refused and the
-- county resends from the last id. gap = 1 says the county lost events (trimmed at its bound):
-- accepted, counted as a gap. Returns {last id, stored, duplicates, refused (0|1)}.
redis.register_function('link_store', function(_, a)
    local tag, county, now, bound, n = a[1], a[2], tonumber(a[3]), tonumber(a[4]), tonumber(a[5])
    local fk = key(tag, 'cf', county)
    local last = redis.call('HGET', fk, 'last') or '0-0'
    local stored, dups, refused, last_at = 0, 0, 0, nil
    for i = 0, n - 1 do
        local b = 5 + i * 9
        local id, prev, gap = a[b + 1], a[b + 2], a[b + 3]
        if not sid_lt(last, id) then
            dups = dups + 1
        elseif prev ~= last and gap ~= '1' then
            refused = 1
            break
        else
            local r = redis.pcall('XADD', key(tag, 'cev', county), 'MAXLEN', '~', bound, id,
                                  'ticket', a[b + 4], 'type', a[b + 5], 'rev', a[b + 6],
                                  'at', a[b + 7], 'data', a[b + 8])
            if type(r) == 'table' and r.err then
                dups = dups + 1
            else
                if gap == '1' then redis.call('HINCRBY', fk, 'gaps', 1) end
                stored = stored + 1
                last = id
                last_at = a[b + 7]
                mirror(tag, county, a[b + 4], a[b + 5], a[b + 6], a[b + 7], a[b + 8], a[b + 9],
                       now, id)
            end
        end
    end
    if stored > 0 then
        redis.call('HSET', fk, 'last', last, 'last_at', last_at, 'stored_at', now)
        redis.call('HINCRBY', fk, 'stored', stored)
    end
    if dups > 0 then redis.call('HINCRBY', fk, 'dups', dups) end
    if refused > 0 then redis.call('HINCRBY', fk, 'refused', 1) end
    redis.call('SADD', key(tag, 'counties'), county)
    return {last, stored, dups, refused}
end)

-- link_orders: ARGV tag, county (''), unit (''), status (''), overdue ('1' or ''), offset,
-- limit. County orders newest first; filters scan at most 5000. Returns {total, JSON, ...}.
redis.register_function{function_name = 'link_orders', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, county, unit, status, overdue = a[1], a[2], a[3], a[4], a[5] == '1'
    local offset, limit = tonumber(a[6]), tonumber(a[7])
    local members
    if overdue then
        members = redis.call('ZREVRANGE', key(tag, 'cix', 'overdue'), 0, 4999)
    elseif county ~= '' then
        members = {}
        for _, tid in ipairs(redis.call('ZREVRANGE', key(tag, 'cix', 'c', county), 0, 4999)) do
            members[#members + 1] = county .. '|' .. tid
        end
    else
        members = redis.call('ZREVRANGE', key(tag, 'cix', 'all'), 0, 4999)
    end
    local out, seen = {0}, 0
    for _, m in ipairs(members) do
        local c, tid = string.match(m, '^(.-)|(.*)$')
        if c and (county == '' or c == county) then
            local v = redis.call('HMGET', key(tag, 'ct', c, tid), 'status', 'unit', 'urgency',
                                 'created_at', 'updated_at', 'text', 'ack_state', 'reply_state',
                                 'close_state', 'close_due', 'city_origin', 'city_escalated')
            for k = 1, 12 do
                if v[k] == false then v[k] = nil end -- absent fields stay out of the JSON
            end
            if (unit == '' or v[2] == unit) and (status == '' or v[1] == status) then
                seen = seen + 1
                if seen > offset and seen <= offset + limit then
                    out[#out + 1] = cjson.encode({
                        county = c, id = tid, status = v[1], unit = v[2], urgency = v[3],
                        created_at = tonumber(v[4]), updated_at = tonumber(v[5]),
                        text = v[6] and cut(v[6], 120), ack_state = v[7], reply_state = v[8],
                        close_state = v[9], close_due = tonumber(v[10]), city_origin = v[11],
                        city_escalated = tonumber(v[12])})
                end
            end
        end
    end
    out[1] = seen
    return out
end}

-- link_order: ARGV tag, county, id. {fields (flat), events (JSON)} or {} when unknown.
redis.register_function{function_name = 'link_order', flags = {'no-writes'},
                        callback = function(_, a)
    local mk = key(a[1], 'ct', a[2], a[3])
    local h = redis.call('HGETALL', mk)
    if #h == 0 then return {} end
    return {h, redis.call('LRANGE', mk .. ':ev', 0, 1999)}
end}

-- link_counties: ARGV tag, now, county... (the listed ones; counties heard from are added).
-- Returns {JSON, ...}: feed state, event counts, unit counts, orders held, open orders sent
-- down and not yet taken, for each county.
redis.register_function{function_name = 'link_counties', flags = {'no-writes'},
                        callback = function(_, a)
    local tag, now = a[1], tonumber(a[2])
    local names, seen = {}, {}
    for i = 3, #a do
        if not seen[a[i]] then names[#names + 1] = a[i]; seen[a[i]] = true end
    end
    for _, c in ipairs(redis.call('SMEMBERS', key(tag, 'counties'))) do
        if not seen[c] then names[#names + 1] = c; seen[c] = true end
    end
    local waiting = {}
    for _, v in ipairs(redis.call('HVALS', key(tag, 'down', 'm'))) do
        local c = string.match(v, '^(.-)|')
        if c then waiting[c] = (waiting[c] or 0) + 1 end
    end
    local out = {}
    for _, c in ipairs(names) do
        local units = {}
        for k, v in pairs(hash(key(tag, 'cm', c, 'u'))) do
            local u, t = string.match(k, '^(.-)|(.*)$')
            if u then
                units[u] = units[u] or {}
                units[u][t] = tonumber(v)
            end
        end
        local events = {}
        for k, v in pairs(hash(key(tag, 'cm', c))) do events[k] = tonumber(v) end
        out[#out + 1] = cjson.encode({
            county = c, feed = hash(key(tag, 'cf', c)), events = events, units = units,
            orders = redis.call('ZCARD', key(tag, 'cix', 'c', c)),
            stored = redis.call('XLEN', key(tag, 'cev', c)),
            down_waiting = waiting[c] or 0, now = now})
    end
    return out
end}

-- ---------------------------------------------------------------------------------------------
-- City -> county

local function down_put(tag, mid, county, due, kind, f)
    redis.call('ZADD', key(tag, 'down'), due, mid)
    redis.call('HSET', key(tag, 'down', 'm'), mid, county .. '|' .. f)
    redis.call('HSET', key(tag, 'down', 'k'), mid, kind)
end

local DOWN_FROM = {received = true, pending_dispatch = true, dispatched = true,
                   returned = true}

-- down_dispatch: ARGV tag, ticket, county, now, actor (JSON {name, role}), note, src. Hands a
-- city order to a county: the order is dispatched to unit "county:K", and a tier.order frame
-- waits in the down outbox until the county's intake confirms it. Returns {1, message id} or
-- {0, http status, code, message}.
redis.register_function('down_dispatch', function(_, a)
    local tag, tid, county, now, actor, note, src = a[1], a[2], a[3], tonumber(a[4]),
                                                     cjson.decode(a[5]), a[6], a[7]
    local tk = key(tag, 't', tid)
    local t = hash(tk)
    if not t.id then return {0, 404, 'not_found', 'no ticket ' .. tid} end
    if (t.down_county or '') ~= '' then
        return {0, 409, 'already_down', 'order ' .. tid .. ' was sent to county ' ..
                t.down_county .. ' already'}
    end
    if not DOWN_FROM[t.status] or (t.status == 'dispatched' and (t.ack_at or '') ~= '') then
        return {0, 409, 'illegal_step', 'order ' .. tid .. ' is ' .. t.status .. '; an order ' ..
                'goes down to a county while received, pending dispatch, returned, or ' ..
                'dispatched and not yet acknowledged'}
    end
    local rev = tonumber(t.rev) + 1
    local unit = 'county:' .. county
    local created = tonumber(t.created_at)
    redis.call('ZREM', key(tag, 'ix', 'status', t.status), tid)
    redis.call('ZADD', key(tag, 'ix', 'status', 'dispatched'), created, tid)
    redis.call('ZADD', key(tag, 'ix', 'unit', unit), created, tid)
    redis.call('ZREM', key(tag, 'q', 'manual'), tid)
    redis.call('ZREM', key(tag, 'q', 'review'), tid)
    -- the county runs the deadlines now: clocks the city may have started stop
    for _, st in ipairs(STAGES) do
        for _, kind in ipairs({'warn', 'due', 'esc'}) do
            redis.call('ZREM', key(tag, 'clk'), tid .. '|' .. st .. '|' .. kind)
        end
        if t[st .. '_state'] == 'running' or t[st .. '_state'] == 'overdue' then
            redis.call('HSET', tk, st .. '_state', 'stopped')
        end
        redis.call('ZREM', key(tag, 'overdue'), tid .. '|' .. st)
    end
    redis.call('HSET', tk, 'status', 'dispatched', 'rev', rev, 'updated_at', now, 'unit', unit,
               'dispatched_at', now, 'down_county', county, 'down_state', 'sending')
    redis.call('RPUSH', tk .. ':tl', cjson.encode({
        at = now, actor = actor.name, role = actor.role, what = 'dispatched', unit = unit,
        note = (note ~= '' and note) or ('sent down to county ' .. county)}))
    redis.call('XADD', key(tag, 'events'), '*', 'ticket', tid, 'type', 'dispatched', 'rev', rev,
               'at', now, 'data', cjson.encode({unit = unit, county = county}))
    local mid = tid .. ':down:' .. rev
    down_put(tag, mid, county, now, 'order|' .. tid, frame('tier.order', mid, now, src, tag, {
        city_ticket = tid, text = t.text or '', address = t.address or '',
        category = t.category or '', phone = t.phone or '', urgency = t.urgency or 'normal',
        note = note, by = actor.name}))
    return {1, mid}
end)

-- down_escalate: ARGV tag, county, county ticket, now, actor (JSON), note, src. A city
-- supervisor's 督办 on a county order: recorded on the city's copy (and the city order it came
-- from), and sent down. Returns {1, message id} or {0, status, code, message}.
redis.register_function('down_escalate', function(_, a)
    local tag, county, ctid, now, actor, note, src = a[1], a[2], a[3], tonumber(a[4]),
                                                     cjson.decode(a[5]), a[6], a[7]
    local mk = key(tag, 'ct', county, ctid)
    if redis.call('EXISTS', mk) == 0 then
        return {0, 404, 'not_found', 'county ' .. county .. ' has no order ' .. ctid ..
                ' at the city'}
    end
    local n = redis.call('HINCRBY', mk, 'city_escalations', 1)
    redis.call('HSET', mk, 'city_escalated', now)
    local origin = redis.call('HGET', mk, 'city_origin') or ''
    local mid = county .. ':' .. ctid .. ':escalate:' .. n
    redis.call('XADD', key(tag, 'audit', 'escalations'), 'MAXLEN', '~', 100000, '*',
               'county', county, 'ticket', ctid, 'by', actor.name, 'note', note, 'at', now)
    if origin ~= '' and redis.call('EXISTS', key(tag, 't', origin)) == 1 then
        redis.call('RPUSH', key(tag, 't', origin, 'tl'), cjson.encode({
            at = now, actor = actor.name, role = actor.role, what = 'escalated_to_county',
            county = county, county_ticket = ctid, note = note}))
    end
    down_put(tag, mid, county, now, 'escalate|' .. origin .. '|' .. ctid,
             frame('tier.escalate', mid, now, src, tag, {
                 county_ticket = ctid, city_ticket = origin, note = note, by = actor.name}))
    return {1, mid}
end)

-- down_claim: ARGV tag, now, lease_ms, max. Frames due for (re)sending, hidden for the lease:
-- {county, frame, ...}. The counties may be away for long: nothing is dead-lettered here.
redis.register_function('down_claim', function(_, a)
    local tag, now, lease, max = a[1], tonumber(a[2]), tonumber(a[3]), tonumber(a[4])
    local ob = key(tag, 'down')
    local out = {}
    for _, mid in ipairs(redis.call('ZRANGEBYSCORE', ob, '-inf', now, 'LIMIT', 0, max)) do
        local v = redis.call('HGET', key(tag, 'down', 'm'), mid)
        if v then
            local c, f = string.match(v, '^(.-)|(.*)$')
            redis.call('ZADD', ob, 'XX', now + lease, mid)
            redis.call('HINCRBY', key(tag, 'down', 'n'), mid, 1)
            out[#out + 1] = c
            out[#out + 1] = f
        else
            redis.call('ZREM', ob, mid)
        end
    end
    return out
end)

-- down_done: ARGV tag, message id, now, county, county ticket, ok (1|0), error. The county's
-- answer: the order (or escalation) leaves the outbox and the city order says what happened.
-- Returns 1, or 0 when it was handled already.
redis.register_function('down_done', function(_, a)
    local tag, mid, now, county, ctid, ok, err = a[1], a[2], tonumber(a[3]), a[4], a[5],
                                                 a[6] == '1', a[7]
    if redis.call('ZSCORE', key(tag, 'down'), mid) == false then return 0 end
    local kind = redis.call('HGET', key(tag, 'down', 'k'), mid) or ''
    local v = redis.call('HGET', key(tag, 'down', 'm'), mid) or ''
    if string.match(v, '^(.-)|') ~= county then return 0 end -- only that county answers
    for _, k in ipairs({'m', 'n', 'k'}) do redis.call('HDEL', key(tag, 'down', k), mid) end
    redis.call('ZREM', key(tag, 'down'), mid)
    local what, tid = string.match(kind, '^(%a+)|([^|]*)')
    if tid and tid ~= '' and redis.call('EXISTS', key(tag, 't', tid)) == 1 then
        local tk = key(tag, 't', tid)
        if what == 'order' then
            redis.call('HSET', tk, 'down_state', ok and 'accepted' or 'refused',
                       'county_ticket', ctid, 'county', county)
        end
        redis.call('RPUSH', tk .. ':tl', cjson.encode({
            at = now, actor = 'county:' .. county, role = 'county',
            what = (what == 'order') and (ok and 'county.accepted' or 'county.refused')
                   or (ok and 'county.escalation_received' or 'county.escalation_refused'),
            county_ticket = ctid ~= '' and ctid or nil, note = (not ok) and err or nil}))
    end
    return 1
end)

-- ---------------------------------------------------------------------------------------------
-- County side: what the city sends down

-- link_origin: ARGV tag, ticket, now, city, city ticket, by. Marks a county order as sent by
-- the city (the feed carries it back up). Returns 1, or 0 when it was marked already.
redis.register_function('link_origin', function(_, a)
    local tag, tid, now, city, ctid, by = a[1], a[2], tonumber(a[3]), a[4], a[5], a[6]
    local tk = key(tag, 't', tid)
    if redis.call('EXISTS', tk) == 0 then return redis.error_reply('link_origin: no ' .. tid) end
    if redis.call('HGET', tk, 'city_origin') == ctid then return 0 end
    redis.call('HSET', tk, 'city_origin', ctid, 'city_tier', city)
    redis.call('RPUSH', tk .. ':tl', cjson.encode({
        at = now, actor = 'city:' .. city .. '/' .. by, role = 'city', what = 'city.dispatched',
        city_ticket = ctid}))
    redis.call('XADD', key(tag, 'events'), '*', 'ticket', tid, 'type', 'city_origin', 'rev',
               redis.call('HGET', tk, 'rev') or '1', 'at', now,
               'data', cjson.encode({city = city, city_ticket = ctid}))
    return 1
end)

-- link_escalated: ARGV tag, ticket, now, city, by, note, message id, redeliver_ms, src. The
-- city's 督办 on a county order: on its timeline, a notice to the county's supervisor and to
-- the lead unit, and an event (so the city sees it arrived). Returns {1, frame...}, {2} when
-- applied already, or {0} when the order does not exist.
redis.register_function('link_escalated', function(_, a)
    local tag, tid, now, city, by, note, mid = a[1], a[2], tonumber(a[3]), a[4], a[5], a[6], a[7]
    local redeliver, src = tonumber(a[8]), a[9]
    local tk = key(tag, 't', tid)
    if redis.call('EXISTS', tk) == 0 then return {0} end
    if redis.call('SADD', tk .. ':cesc', mid) == 0 then return {2} end
    local t = redis.call('HMGET', tk, 'unit', 'rev')
    local unit = t[1] or ''
    redis.call('HSET', tk, 'city_escalated', now)
    redis.call('HINCRBY', tk, 'city_escalations', 1)
    redis.call('RPUSH', tk .. ':tl', cjson.encode({
        at = now, actor = 'city:' .. city .. '/' .. by, role = 'city', what = 'city.escalated',
        unit = unit ~= '' and unit or nil, note = note}))
    local out = {1}
    local n = redis.call('HGET', tk, 'city_escalations')
    out[#out + 1] = notify(tag, tid, now, src, now + redeliver,
                           tid .. ':city.escalated:supervisor:' .. n,
                           {kind = 'city.escalated', target = 'supervisor', unit = unit,
                            summary = cut(note, 300)})
    if unit ~= '' then
        out[#out + 1] = notify(tag, tid, now, src, now + redeliver,
                               tid .. ':city.escalated:' .. unit .. ':' .. n,
                               {kind = 'city.escalated', target = unit, unit = unit,
                                summary = cut(note, 300)})
    end
    redis.call('XADD', key(tag, 'events'), '*', 'ticket', tid, 'type', 'city.escalated',
               'rev', t[2] or '1', 'at', now, 'data', cjson.encode({city = city, by = by,
                                                                    note = cut(note, 300)}))
    return out
end)
