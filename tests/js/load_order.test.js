// The live client as a browser gets it: every script Dash loads from dashboard/assets, as
// classic scripts in Dash's order, in one global scope. Each module must find the ones it needs,
// and the page must find what it calls (window.poskoLive, dash_clientside.posko.*).
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");

const ROOT = path.resolve(__dirname, "../..");
const ASSETS = path.join(ROOT, "dashboard/assets");
const IGNORED_DIRS = ["plain"]; // app.py: assets_path_ignore

/** The .js files in the order Dash loads them: sorted(os.walk(assets)), files sorted. */
function dashOrder() {
  const dirs = [];
  (function walk(dir) {
    dirs.push(dir);
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && !IGNORED_DIRS.includes(e.name)) walk(path.join(dir, e.name));
    }
  })(ASSETS);
  dirs.sort();
  return dirs.flatMap((dir) =>
    fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(".js"))
      .map((e) => e.name)
      .sort()
      .map((name) => path.join(dir, name))
  );
}

function browser() {
  const ctx = { performance: { now: () => 0 }, console };
  ctx.window = ctx;
  vm.createContext(ctx);
  return ctx;
}

function load(ctx, file) {
  vm.runInContext(fs.readFileSync(file, "utf8"), ctx, { filename: file });
}

/** What the Python side and the browser tests expect to find, read from their sources. */
function wanted(pattern, files) {
  const out = new Set();
  for (const file of files) {
    for (const m of fs.readFileSync(path.join(ROOT, file), "utf8").matchAll(pattern)) out.add(m[1]);
  }
  return [...out];
}

function sources(dir, ext) {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true })
    .filter((f) => f.endsWith(ext))
    .map((f) => path.join(dir, f));
}

test("every live module loads in Dash's order and finds the modules it needs", () => {
  const ctx = browser();
  const files = dashOrder();
  assert.ok(files.some((f) => f.endsWith("live/90-startup.js")));
  assert.ok(!files.some((f) => f.includes(path.sep + "plain" + path.sep)));
  for (const file of files) load(ctx, file);
  assert.deepEqual(Object.keys(ctx.posko).sort(), [
    "connection",
    "dash",
    "figures",
    "maprepair",
    "markers",
    "operations",
    "overlay",
    "panels",
    "replay",
    "sos",
    "startup",
    "store",
    "text",
  ]);
});

test("a module loaded before one it needs says which", () => {
  const ctx = browser();
  assert.throws(
    () => load(ctx, path.join(ASSETS, "live/20-markers.js")),
    /posko: 10-text\.js must load before markers/
  );
});

test("the clientside functions the callbacks name are registered", () => {
  const ctx = browser();
  for (const file of dashOrder()) load(ctx, file);
  // Declared beside each page as `callbacks.browser("name", ...)` (dashboard/serving.py).
  const names = wanted(/\.browser\(\s*"(\w+)"/g, sources("dashboard", ".py"));
  assert.ok(names.length >= 4);
  for (const name of names) assert.equal(typeof ctx.dash_clientside.posko[name], "function", name);
});

test("window.poskoLive has everything the browser tests and bench read", () => {
  const ctx = browser();
  for (const file of dashOrder()) load(ctx, file);
  const readers = [...sources("tests", ".py"), ...sources("bench", ".py")];
  const props = wanted(/poskoLive\.(\w+)/g, readers);
  assert.ok(props.includes("live") && props.includes("appliedAt"));
  for (const prop of props) assert.ok(prop in ctx.poskoLive, "window.poskoLive." + prop);
  // Before any config it is quiet: not live, no picture.
  assert.equal(ctx.poskoLive.live, false);
  assert.equal(ctx.poskoLive.connection, "connecting");
  assert.equal(ctx.poskoLive.state("16.08.01.1007-001"), null);
});
