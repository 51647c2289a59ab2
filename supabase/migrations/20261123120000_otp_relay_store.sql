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
  dedupe_until timestamptz not null
);
create index if not exists deliveries_created_at on otp_relay.deliveries (created_at);

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
