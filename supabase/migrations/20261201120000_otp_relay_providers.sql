-- otp-relay with several providers: opt-outs honoured across providers, and statistics per
-- provider attempt. Re-runnable like the first migration: applying it twice changes nothing.

-- Opt-outs (the recipient replied STOP), as a provider reported them: from its answer to a send,
-- or from a signed delivery report. While a number is recorded here at a provider, its SMS goes
-- through that provider alone (it knows whether the user has since replied START); a delivery
-- through it clears the row. The number only as the keyed hash the limits use.
-- The owner clears a row with `deno task opt-outs clear +<number>`.
create table if not exists otp_relay.opt_outs (
  to_hash text not null,
  provider text not null,
  -- send: the provider refused a send (Twilio 21610, Telnyx 40300, …); report: a delivery report.
  source text not null check (source in ('send', 'report')),
  reported_at timestamptz not null default now(),
  primary key (to_hash, provider)
);
alter table otp_relay.opt_outs enable row level security;
revoke all on otp_relay.opt_outs from anon, authenticated;

-- Status callbacks name the provider as well as its message id: ids of two providers never mix.
create index if not exists deliveries_provider_provider_id on otp_relay.deliveries
  (provider, provider_id) where provider_id is not null;

-- Every attempt of the last 24 hours, per provider, channel and country: not only the provider
-- that finally delivered, so providers can be compared where they were tried. Each row of
-- `deliveries` keeps its attempts in `outcome.attempts` (no code, no number).
create or replace view otp_relay.provider_attempts_24h with (security_invoker = true) as
select
  a.value->>'provider' as provider,
  a.value->>'channel' as channel,
  d.country,
  count(*) as attempts,
  count(*) filter (where (a.value->>'ok')::boolean) as accepted,
  round(100.0 * count(*) filter (where (a.value->>'ok')::boolean) / count(*), 1)
    as accepted_pct,
  count(*) filter (where a.value->>'reason' = 'timeout') as timeouts,
  -- The provider failed (5xx, refused, throttled, an answer we could not read).
  count(*) filter (
    where a.value->>'reason' in ('provider_unavailable', 'rate_limited', 'internal')
  ) as provider_failures,
  -- The owner's account or settings at this provider (credentials, sender, country).
  count(*) filter (
    where a.value->>'reason' in ('provider_config', 'channel_config', 'geo_blocked')
  ) as settings_rejected,
  -- Verdicts about the number: say nothing of the provider.
  count(*) filter (
    where a.value->>'reason' in ('invalid_number', 'unreachable_number', 'opted_out')
  ) as number_verdicts,
  percentile_cont(0.5) within group (order by (a.value->>'ms')::numeric) as p50_ms,
  percentile_cont(0.95) within group (order by (a.value->>'ms')::numeric) as p95_ms
from otp_relay.deliveries d
cross join lateral jsonb_array_elements(
  case when jsonb_typeof(d.outcome->'attempts') = 'array' then d.outcome->'attempts'
  else '[]'::jsonb end
) as a(value)
where d.created_at > now() - interval '24 hours'
group by 1, 2, 3;
revoke all on otp_relay.provider_attempts_24h from anon, authenticated;

-- Retention without pg_cron, shared by every instance: the purge runs at most once an hour in
-- all, not once per new isolate. Each run is claimed atomically: the instance whose update
-- moves `last_run` purges; the others learn it is not due and do nothing.
create table if not exists otp_relay.maintenance (
  name text primary key,
  last_run timestamptz not null
);
alter table otp_relay.maintenance enable row level security;
revoke all on otp_relay.maintenance from anon, authenticated;

-- Purges (otp_relay.purge) when the last run is older than `every_minutes`, and returns the rows
-- removed; returns null, doing nothing, when another run was claimed more recently.
create or replace function otp_relay.purge_if_due(
  retention_days integer default 30,
  every_minutes integer default 60
)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  claimed integer;
begin
  -- One purge at a time, and nobody waits for it: another instance arriving meanwhile returns at
  -- once instead of queueing on the row lock for the purge's whole length.
  if not pg_try_advisory_xact_lock(hashtext('otp_relay.purge_if_due')) then
    return null;
  end if;
  insert into otp_relay.maintenance as m (name, last_run) values ('purge', now())
  on conflict (name) do update set last_run = now()
  where m.last_run < now() - make_interval(mins => every_minutes);
  get diagnostics claimed = row_count;
  if claimed = 0 then
    return null;
  end if;
  return otp_relay.purge(retention_days);
end;
$$;
revoke all on function otp_relay.purge_if_due(integer, integer) from public, anon, authenticated;
