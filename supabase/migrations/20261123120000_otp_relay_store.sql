-- otp-relay's shared state: what every instance of the function must agree on.
-- Applied by `supabase db push` and by the tests to a throwaway PostgreSQL. Written to be
-- re-runnable: applying it twice changes nothing.
--
-- No OTP code is ever stored. Phone numbers are stored masked, plus a keyed hash for counting.

create schema if not exists otp_relay;

-- Settings the function needs and no one should have to configure: the key of the phone-number
-- hash, generated once here so it survives secret rotation (OTP_HASH_KEY overrides it).
create table if not exists otp_relay.settings (
  name text primary key,
  value text not null
);
insert into otp_relay.settings (name, value)
-- Two v4 UUIDs: 244 random bits from core PostgreSQL (no pgcrypto needed).
values ('hash_key', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
on conflict (name) do nothing;

-- One row per delivery: the dedupe claim (shared by every instance), then the delivery log.
create table if not exists otp_relay.deliveries (
  dedupe_key text primary key,
  door text not null,
  -- sending: an instance has claimed the key and is delivering; sent / failed: settled.
  state text not null default 'sending' check (state in ('sending', 'sent', 'failed')),
  -- A failure Twilio certainly refused may be retried by a retry of the same request.
  retry_allowed boolean not null default false,
  outcome jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Until when a retry of the same request is answered from this row.
  dedupe_until timestamptz not null,
  -- Random per claim: lets an instance recognise its own claim after a retried insert.
  claim_token uuid,
  -- The delivery log, written when the delivery settles. No code, ever; the number only masked
  -- (+4474•••••456) and as a keyed hash for counting.
  to_masked text,
  to_hash text,
  country text,
  number_type text,
  channel text,
  provider text,
  -- The provider's id of the accepted message or call (Twilio SID), for status callbacks.
  provider_id text,
  reason text,
  ms integer,
  -- From the provider's status callbacks: delivered, undelivered, failed, completed, …
  delivery_status text,
  delivery_error_code integer,
  delivery_updated_at timestamptz
);
create index if not exists deliveries_created_at on otp_relay.deliveries (created_at);
create index if not exists deliveries_provider_id on otp_relay.deliveries (provider_id)
  where provider_id is not null;

-- Only the function (through the database URL Supabase gives it) reads or writes here; the
-- Data API roles get nothing, and RLS without policies denies them even if grants change.
alter table otp_relay.settings enable row level security;
alter table otp_relay.deliveries enable row level security;
revoke all on schema otp_relay from anon, authenticated;
revoke all on all tables in schema otp_relay from anon, authenticated;
alter default privileges in schema otp_relay revoke all on tables from anon, authenticated;

-- Abuse-limit counters: fixed windows, one row per (scope, hashed key, window). Keys are keyed
-- hashes (numbers, number blocks, IPs), never the values themselves.
create table if not exists otp_relay.limit_counters (
  scope text not null,
  key text not null,
  bucket bigint not null,
  count integer not null default 0,
  expires_at timestamptz not null,
  primary key (scope, key, bucket)
);
create index if not exists limit_counters_expires_at on otp_relay.limit_counters (expires_at);
alter table otp_relay.limit_counters enable row level security;
revoke all on all tables in schema otp_relay from anon, authenticated;

-- Success rate and latency per channel, provider and country over the last 24 hours.
create or replace view otp_relay.delivery_stats_24h with (security_invoker = true) as
select
  channel,
  provider,
  country,
  count(*) as deliveries,
  count(*) filter (where state = 'sent') as accepted,
  round(100.0 * count(*) filter (where state = 'sent') / count(*), 1) as accepted_pct,
  count(*) filter (where delivery_status in ('delivered', 'read', 'completed')) as delivered,
  count(*) filter (where delivery_status in ('undelivered', 'failed', 'busy', 'no-answer'))
    as undelivered,
  percentile_cont(0.5) within group (order by ms) as p50_ms,
  percentile_cont(0.95) within group (order by ms) as p95_ms
from otp_relay.deliveries
where created_at > now() - interval '24 hours'
group by channel, provider, country;
revoke all on otp_relay.delivery_stats_24h from anon, authenticated;

-- Retention: deletes deliveries older than `retention_days` and expired limit counters.
-- Schedule it with pg_cron, e.g.:
--   select cron.schedule('otp-relay-retention', '17 3 * * *', $$select otp_relay.purge(30)$$);
create or replace function otp_relay.purge(retention_days integer default 30)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  removed integer;
begin
  if retention_days is null or retention_days < 1 then
    raise exception 'retention_days must be at least 1';
  end if;
  -- A claim still 'sending' after its dedupe window belongs to an instance that died.
  delete from otp_relay.deliveries
  where created_at < now() - make_interval(days => retention_days)
    and (state <> 'sending' or dedupe_until < now());
  get diagnostics removed = row_count;
  delete from otp_relay.limit_counters where expires_at < now();
  return removed;
end;
$$;
revoke all on function otp_relay.purge(integer) from public, anon, authenticated;

-- Order of provider statuses: a late callback never overwrites a later status.
create or replace function otp_relay.status_rank(status text)
returns integer
language sql
immutable
set search_path = ''
as $$
  select case
    when status = '' then 0
    when status = 'read' then 3
    when status in ('delivered', 'undelivered', 'failed', 'completed', 'busy', 'no-answer',
      'canceled') then 2
    else 1
  end
$$;
revoke all on function otp_relay.status_rank(text) from public, anon, authenticated;
