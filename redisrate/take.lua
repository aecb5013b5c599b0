-- Takes up to ARGV[2] requests of the window count KEYS[1], which holds at
-- most ARGV[1], and makes it expire ARGV[3] milliseconds after its first
-- take. Returns {granted, count}.
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local granted = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - count)
if granted <= 0 then
  return {0, count}
end
count = redis.call('INCRBY', KEYS[1], granted)
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return {granted, count}
