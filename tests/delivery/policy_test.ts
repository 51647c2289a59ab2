import assert from "node:assert/strict";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import {
  parseChannelRules,
  planChannels,
  type PlanSource,
} from "../../supabase/functions/_shared/delivery/policy.ts";
import type { Channel } from "../../supabase/functions/_shared/delivery/types.ts";
import { parsePhone } from "../../supabase/functions/_shared/phone.ts";
import { TEST_SECRET } from "../_helpers.ts";

const RULES = "BR,IN,MX=whatsapp,sms;*=sms,voice";
const ALL: Channel[] = ["sms", "whatsapp", "voice"];

interface Row {
  name: string;
  phone: string;
  env?: Record<string, string>;
  configured?: Channel[];
  channel?: Channel;
  app?: Record<string, unknown>;
  user?: Record<string, unknown>;
  expect: Channel[];
  source: PlanSource;
}

const ROWS: Row[] = [
  // The default order.
  { name: "default sms", phone: "16502530000", expect: ["sms"], source: "default" },
  {
    name: "default order of two",
    phone: "16502530000",
    env: { OTP_CHANNELS: "sms,voice" },
    expect: ["sms", "voice"],
    source: "default",
  },
  // Country rules, numbers with and without +.
  {
    name: "BR mobile without +",
    phone: "5511987654321",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["whatsapp", "sms"],
    source: "country_rule",
  },
  {
    name: "BR mobile with +",
    phone: "+5511987654321",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["whatsapp", "sms"],
    source: "country_rule",
  },
  {
    name: "IN mobile",
    phone: "919876543210",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["whatsapp", "sms"],
    source: "country_rule",
  },
  {
    name: "IN mobile with +",
    phone: "+919876543210",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["whatsapp", "sms"],
    source: "country_rule",
  },
  {
    name: "MX number",
    phone: "525512345678",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["whatsapp", "sms"],
    source: "country_rule",
  },
  {
    name: "MX mobile in the pre-2019 +52 1 format",
    phone: "5215512345678",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["whatsapp", "sms"],
    source: "country_rule",
  },
  {
    name: "US (NANP, FIXED_LINE_OR_MOBILE keeps SMS) falls to the * rule",
    phone: "16502530000",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["sms", "voice"],
    source: "country_rule",
  },
  {
    name: "US with +",
    phone: "+16502530000",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["sms", "voice"],
    source: "country_rule",
  },
  {
    name: "Jamaica is NANP but its own country: a JM rule applies, not the US one",
    phone: "18765551234",
    env: { OTP_CHANNEL_RULES: "JM=voice;US=whatsapp;*=sms" },
    expect: ["voice"],
    source: "country_rule",
  },
  {
    name: "a US number under the same rules",
    phone: "16502530000",
    env: { OTP_CHANNEL_RULES: "JM=voice;US=whatsapp;*=sms" },
    expect: ["whatsapp"],
    source: "country_rule",
  },
  {
    name: "Jersey shares +44 with GB, but is its own country",
    phone: "447797712345",
    env: { OTP_CHANNEL_RULES: "JE=whatsapp;GB=voice;*=sms" },
    expect: ["whatsapp"],
    source: "country_rule",
  },
  {
    name: "a NANP number outside known ranges (no single country) takes the * rule",
    phone: "15551234567",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["sms", "voice"],
    source: "country_rule",
  },
  {
    name: "a possible +44 number in no known range (GB, GG, IM or JE) takes the * rule",
    phone: "447700900123",
    env: { OTP_CHANNEL_RULES: "GB=voice;*=sms" },
    expect: ["sms"],
    source: "country_rule",
  },
  {
    name: "no * rule and no match: the default order",
    phone: "4915123456789",
    env: { OTP_CHANNEL_RULES: "BR=whatsapp,sms", OTP_CHANNELS: "sms" },
    expect: ["sms"],
    source: "default",
  },
  {
    name: "a named country wins over * whatever the order of the rules",
    phone: "5511987654321",
    env: { OTP_CHANNEL_RULES: "*=voice;BR=whatsapp" },
    expect: ["whatsapp"],
    source: "country_rule",
  },
  // Landlines.
  {
    name: "GB landline skips SMS: voice only",
    phone: "442079460000",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["voice"],
    source: "country_rule",
  },
  {
    name: "FR landline with the default order sms,voice",
    phone: "33123456789",
    env: { OTP_CHANNELS: "sms,voice" },
    expect: ["voice"],
    source: "default",
  },
  {
    name: "DE landline skips SMS and WhatsApp, nothing left",
    phone: "4930123456",
    env: { OTP_CHANNELS: "sms,whatsapp" },
    expect: [],
    source: "default",
  },
  {
    name: "BR landline under a WhatsApp rule: nothing left",
    phone: "551133334444",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: [],
    source: "country_rule",
  },
  {
    name: "a landline user's WhatsApp preference is dropped, voice remains",
    phone: "442079460000",
    env: { OTP_CHANNELS: "sms,voice" },
    user: { otp_channel: "whatsapp" },
    expect: ["voice"],
    source: "default",
  },
  {
    name: "a landline under the default sms gets nothing, even with voice configured",
    phone: "442079460000",
    expect: [],
    source: "default",
  },
  {
    name: "a toll-free number keeps its channels",
    phone: "18002752273",
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["sms", "voice"],
    source: "country_rule",
  },
  // Missing channel settings.
  {
    name: "BR without WhatsApp settings: SMS only",
    phone: "5511987654321",
    env: { OTP_CHANNEL_RULES: RULES },
    configured: ["sms", "voice"],
    expect: ["sms"],
    source: "country_rule",
  },
  {
    name: "US without voice settings: SMS only",
    phone: "16502530000",
    env: { OTP_CHANNEL_RULES: RULES },
    configured: ["sms", "whatsapp"],
    expect: ["sms"],
    source: "country_rule",
  },
  {
    name: "GB landline without voice settings: nothing",
    phone: "442079460000",
    env: { OTP_CHANNEL_RULES: RULES },
    configured: ["sms"],
    expect: [],
    source: "country_rule",
  },
  // The app's preference.
  {
    name: "app_metadata voice goes first, the rule follows",
    phone: "16502530000",
    env: { OTP_CHANNEL_RULES: RULES },
    app: { otp_channel: "voice" },
    expect: ["voice", "sms"],
    source: "app_metadata",
  },
  {
    name: "app_metadata is read case-insensitively",
    phone: "16502530000",
    app: { otp_channel: " WhatsApp " },
    expect: ["whatsapp", "sms"],
    source: "app_metadata",
  },
  {
    name: "an unknown app_metadata value is ignored",
    phone: "5511987654321",
    env: { OTP_CHANNEL_RULES: RULES },
    app: { otp_channel: "pigeon" },
    expect: ["whatsapp", "sms"],
    source: "country_rule",
  },
  {
    name: "a non-string app_metadata value is ignored",
    phone: "16502530000",
    app: { otp_channel: ["voice"] },
    expect: ["sms"],
    source: "default",
  },
  {
    name: "app_metadata under a custom key",
    phone: "16502530000",
    env: { OTP_CHANNEL_METADATA_KEY: "preferred_channel" },
    app: { preferred_channel: "voice", otp_channel: "whatsapp" },
    expect: ["voice", "sms"],
    source: "app_metadata",
  },
  // The user's preference.
  {
    name: "user_metadata WhatsApp (allowed by default) goes first",
    phone: "16502530000",
    env: { OTP_CHANNEL_RULES: RULES },
    user: { otp_channel: "whatsapp" },
    expect: ["whatsapp", "sms", "voice"],
    source: "user_metadata",
  },
  {
    name: "user_metadata voice is ignored by default: a user can't make the owner pay for calls",
    phone: "16502530000",
    env: { OTP_CHANNEL_RULES: RULES },
    user: { otp_channel: "voice" },
    expect: ["sms", "voice"],
    source: "country_rule",
  },
  {
    name: "user_metadata voice honoured when OTP_USER_CHANNELS allows it",
    phone: "16502530000",
    env: { OTP_CHANNEL_RULES: RULES, OTP_USER_CHANNELS: "sms,voice" },
    user: { otp_channel: "voice" },
    expect: ["voice", "sms"],
    source: "user_metadata",
  },
  {
    name: "OTP_USER_CHANNELS=none ignores every user preference",
    phone: "16502530000",
    env: { OTP_USER_CHANNELS: "none" },
    user: { otp_channel: "whatsapp" },
    expect: ["sms"],
    source: "default",
  },
  {
    name: "app_metadata wins over user_metadata",
    phone: "16502530000",
    app: { otp_channel: "sms" },
    user: { otp_channel: "whatsapp" },
    env: { OTP_CHANNELS: "whatsapp,sms" },
    expect: ["sms", "whatsapp"],
    source: "app_metadata",
  },
  // The caller's explicit channel.
  {
    name: "an explicit channel from the caller wins over app_metadata",
    phone: "16502530000",
    channel: "voice",
    app: { otp_channel: "whatsapp" },
    env: { OTP_CHANNEL_RULES: RULES },
    expect: ["voice", "sms"],
    source: "caller",
  },
  {
    name: "an explicit channel that is not configured is dropped",
    phone: "16502530000",
    channel: "voice",
    configured: ["sms"],
    expect: ["sms"],
    source: "default",
  },
  {
    name: "an app preference for an unconfigured channel gives way to the user's preference",
    phone: "16502530000",
    configured: ["sms", "whatsapp"],
    app: { otp_channel: "voice" },
    user: { otp_channel: "whatsapp" },
    expect: ["whatsapp", "sms"],
    source: "user_metadata",
  },
];

for (const row of ROWS) {
  Deno.test(`policy: ${row.name}`, () => {
    const config = loadConfig({
      SEND_SMS_HOOK_SECRETS: TEST_SECRET,
      OTP_PROVIDER: "console",
      ...row.env,
    });
    const to = parsePhone(row.phone);
    assert.ok(to, `${row.phone} parses`);
    const plan = planChannels(
      {
        to,
        ...(row.channel ? { channel: row.channel } : {}),
        appMetadata: row.app,
        userMetadata: row.user,
      },
      config.policy,
      new Set(row.configured ?? ALL),
    );
    assert.deepEqual(plan.channels, row.expect);
    assert.equal(plan.source, row.source);
  });
}

Deno.test("policy: the table has at least 25 rows", () => {
  assert.ok(ROWS.length >= 25, `${ROWS.length} rows`);
});

Deno.test("policy: landline flag is set only when SMS or WhatsApp were dropped for it", () => {
  const config = loadConfig({ SEND_SMS_HOOK_SECRETS: TEST_SECRET, OTP_PROVIDER: "console" });
  const landline = planChannels({ to: parsePhone("442079460000")! }, config.policy, new Set(ALL));
  assert.equal(landline.landline, true);
  const mobile = planChannels({ to: parsePhone("447400123456")! }, config.policy, new Set(ALL));
  assert.equal(mobile.landline, false);
});

Deno.test("parseChannelRules: the documented example", () => {
  assert.deepEqual(parseChannelRules(RULES), [
    { countries: ["BR", "IN", "MX"], channels: ["whatsapp", "sms"] },
    { countries: "*", channels: ["sms", "voice"] },
  ]);
  assert.deepEqual(parseChannelRules(" br = WhatsApp ; "), [
    { countries: ["BR"], channels: ["whatsapp"] },
  ]);
});

Deno.test("parseChannelRules: every malformed rule is refused with a reason", () => {
  const cases: [string, RegExp][] = [
    ["BR", /must look like/],
    ["BR=pigeon", /unknown channel/],
    ["BR=", /at least one channel/],
    ["BRA=sms", /ISO codes/],
    ["=sms", /ISO codes/],
    ["B1=sms", /ISO codes/],
    ["BR=sms;BR=voice", /BR appears in more than one rule/],
    ["*=sms;*=voice", /\* appears in more than one rule/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseChannelRules(text), message, text);
  }
});
