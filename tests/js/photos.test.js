// Incident photo counts in the browser's picture (dashboard/assets/live/30-store.js): the
// commander's list shows thumbnails when an incident's `photos` grows, whatever order the
// deltas carrying it arrive in.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { live } = require("./fakes.js");

const { createStore } = live("30-store");
const AT = "2024-11-27T01:05:00+00:00";

test("an incident's photo count never goes back within one version (a late, older copy)", () => {
  const store = createStore({ now: () => 0 });
  const inc = (version, photos) => ({ id: 9, status: "baru", version, photos, reported_by: [], updated_at: AT });
  const delta = (seq, incident) => ({ type: "delta", seq, at: AT, tps: [], incidents: [incident], log: [] });
  store.applyDelta(delta(1, inc(2, 1))); // the photo's publish
  store.applyDelta(delta(2, inc(2, 0))); // an intake delta read just before the photo was stored
  assert.equal(store.incidents.get(9).photos, 1);
  store.applyDelta(delta(3, inc(3, 0))); // a split took the report (and its photo) away
  assert.equal(store.incidents.get(9).photos, 0);
});
