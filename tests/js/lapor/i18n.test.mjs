// Every refusal the server can give the phone has Bahasa words with what to do: the reasons
// are read from the Python sources themselves (validation, the event schema, the socket, the
// writer, the credential checks), so a new reason without words here fails this test.

import test from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { REPO, APP } from "./fakes.mjs";
import {
  explain,
  setLang,
  t,
  hasWord,
  allWords,
  FIELD_NAMES,
  PHASE_WORDS,
  SITUATION_WORDS,
  CATEGORY_WORDS,
  RISK_WORDS,
  enrolWords,
} from "../../../dashboard/lapor/js/i18n.js";

const read = (rel) => fs.readFileSync(path.join(REPO, rel), "utf8");
const sample = (text) => text.replace(/\{[^}]*\}/g, "7"); // an f-string's placeholders

/** [field, reason] pairs the server can put in an ack, an error frame or a 4xx detail. */
function serverReasons() {
  const out = [];
  const add = (field, reason) => out.push([field, sample(reason)]);
  const validate = read("backend/intake/validate.py");
  for (const m of validate.matchAll(/\bno\(\s*"(\w+)",\s*f?"([^"]+)"\s*\)/g)) add(m[1], m[2]);
  for (const m of validate.matchAll(/FrameError\(\s*"(\w+)",\s*f?"([^"]+)"/g)) add(m[1], m[2]);
  for (const m of validate.matchAll(/^\s+return "([^"]+)"$/gm)) add("type", m[1]); // _reason_of
  for (const m of validate.matchAll(/reason = f?"([^"]+)"/g)) add("type", m[1]);
  for (const m of read("schemas/events.py").matchAll(/raise ValueError\("([^"]+)"\)/g)) add("event", m[1]);
  const socket = read("backend/intake/socket.py");
  for (const m of socket.matchAll(/reject\(\s*None,\s*"(\w+)",\s*"([^"]+)"/g)) add(m[1], m[2]);
  for (const m of read("backend/intake/writer.py").matchAll(/StorageUnavailable\(f?"([^"]+)"\)/g)) add("storage", m[1]);
  for (const file of ["backend/auth/service.py", "backend/intake/views.py", "backend/intake/socket.py"]) {
    for (const m of read(file).matchAll(/AuthError\(\s*"([^"]+)"/g)) add("token", m[1]);
  }
  return out;
}

test("the reasons are found in the Python sources (the extraction itself works)", () => {
  const reasons = serverReasons().map(([, r]) => r);
  for (const known of [
    "unknown TPS code 7",
    "older than the allowed limit",
    "officer is not assigned to this TPS",
    "an incident needs tps or lat/lon",
    "larger than the limit of 7 bytes",
    "binary frames are not accepted: send JSON as text",
    "storage unavailable: 7",
    "revoked credential",
  ]) {
    assert.ok(reasons.includes(known), `${known} not extracted`);
  }
  assert.ok(reasons.length >= 25, `only ${reasons.length} reasons extracted`);
});

test("every reason the server gives has its own Bahasa words and what to do", () => {
  for (const [field, reason] of serverReasons()) {
    setLang("id");
    const id = explain({ field, reason });
    assert.ok(id.specific, `no words for ${field}: ${reason}`);
    assert.ok(id.text.length > 10 && id.todo.length > 10, `${reason}: ${id.text} / ${id.todo}`);
    setLang("en");
    const en = explain({ field, reason });
    assert.notEqual(id.text, en.text, `${reason}: the Bahasa text is not Bahasa`);
    assert.notEqual(id.todo, en.todo);
  }
  setLang("id");
});

test("a malformed value (pydantic's own words) is told by the field it names", () => {
  setLang("id");
  const e = explain({ field: "severity", reason: "Input should be less than or equal to 4" });
  assert.match(e.text, /tingkat/);
  assert.match(e.text, /Input should be/); // the server's words kept for the admin
  const unknown = explain({ field: "zzz", reason: "odd" });
  assert.equal(unknown.specific, false);
  assert.match(unknown.text, /Ditolak server: odd/);
});

test("every field of the events, and the photo and enrolment fields, has a Bahasa name", () => {
  const events = read("schemas/events.py");
  const fields = new Set();
  for (const cls of events.matchAll(/^class (?:_FieldEvent|PingIn|IncidentIn)\b[\s\S]*?(?=^class |^FieldEvent)/gm)) {
    for (const m of cls[0].matchAll(/^ {4}(\w+): /gm)) if (m[1] !== "model_config") fields.add(m[1]);
  }
  assert.ok(fields.has("device_time") && fields.has("description"), [...fields].join(","));
  for (const f of [...fields, "sos", "photo", "code"]) {
    assert.ok(FIELD_NAMES[f] && FIELD_NAMES[f][0] && FIELD_NAMES[f][1], `no name for ${f}`);
  }
});

test("every phase, situation, category, risk and flag of schemas/enums.py has words", () => {
  const enums = read("schemas/enums.py");
  const values = (name) => {
    const body = enums.match(new RegExp(`class ${name}\\(StrEnum\\):[\\s\\S]*?(?=\\n\\n\\n|\\nclass |$)`))[0];
    return [...body.matchAll(/^ {4}\w+ = "(\w+)"/gm)].map((m) => m[1]);
  };
  const check = (table, name) => {
    const vs = values(name);
    assert.ok(vs.length >= 3, name);
    for (const v of vs) assert.ok(table[v] && table[v][0] && table[v][1], `${name}.${v}`);
  };
  check(PHASE_WORDS, "Phase");
  check(SITUATION_WORDS, "Situation");
  check(CATEGORY_WORDS, "IncidentCategory");
  check(RISK_WORDS, "RiskRating");
  for (const f of values("EventFlag")) assert.ok(hasWord("flag_" + f), `flag_${f}`);
});

test("every word the screens ask for exists, in both languages", () => {
  const { WORDS } = allWords();
  for (const [key, pair] of Object.entries(WORDS)) {
    assert.ok(pair[0] && pair[1], key);
  }
  for (const file of ["ui.js", "main.js"]) {
    const src = fs.readFileSync(path.join(APP, file), "utf8");
    for (const m of src.matchAll(/\bt\("(\w+)"\s*[,)]/g)) assert.ok(hasWord(m[1]), `${file}: t("${m[1]}")`);
  }
  // The keys the screens build: outbox states, sender states, severities, tabs.
  for (const s of ["menunggu", "terkirim", "diterima", "ditolak"]) assert.ok(hasWord("st_" + s));
  for (const s of ["idle", "connecting", "sending", "waiting", "revoked", "stopped"]) assert.ok(hasWord("state_" + s));
  for (const n of [1, 2, 3, 4]) assert.ok(hasWord("sev_" + n));
  for (const n of ["home", "incident", "sos", "outbox", "status"]) assert.ok(hasWord("nav_" + n));
});

test("the revoked phone's words are the ones the issue asks for", () => {
  setLang("id");
  assert.equal(t("revoked_banner"), "HP ini tidak terdaftar lagi — minta lembar pendaftaran baru");
  assert.match(explain({ field: "token", reason: "revoked credential" }).todo, /lembar pendaftaran baru/);
});

test("each enrolment refusal says what to do; an unknown one too", () => {
  setLang("id");
  for (const code of ["used", "expired", "revoked", "unknown", "throttled", "offline"]) {
    assert.notEqual(enrolWords(code), t("enrol_error"), code);
    assert.ok(enrolWords(code).length > 30, code);
  }
  assert.equal(enrolWords("???"), t("enrol_error"));
});

test("photo upload refusals are told by their status", () => {
  setLang("id");
  for (const status of [409, 413, 415, 422]) {
    const e = explain({ field: "body", reason: "anything", status });
    assert.ok(e.specific && e.key.startsWith("r_photo"), `${status}: ${e.key}`);
  }
  assert.equal(explain({ field: "photo", reason: "missing on the phone" }).key, "r_photo_missing");
});
