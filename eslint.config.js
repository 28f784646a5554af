// Lint for the browser scripts and their Node tests (`make lint`). A modest set on purpose:
// ESLint's recommended rules, and no-undef against the globals each kind of file really has.
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  { ignores: ["node_modules/", ".venv/", "var/", "bench/out/"] },
  js.configs.recommended,
  {
    // Classic scripts in the browser; under Node (tests/js) the same files export with
    // module.exports and load what they need with require().
    files: ["dashboard/assets/**/*.js"],
    languageOptions: {
      ecmaVersion: 2020,
      sourceType: "script",
      globals: { ...globals.browser, module: "readonly", require: "readonly" },
    },
  },
  {
    // The officer's phone app (/lapor): ES modules in the browser, no build step; under Node
    // (tests/js/lapor) the same files are imported as they are.
    files: ["dashboard/lapor/js/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
  },
  {
    // Its first script: classic, in <head>, before anything else (takes the enrolment code).
    files: ["dashboard/lapor/js/boot.js"],
    languageOptions: { ecmaVersion: 2019, sourceType: "script", globals: { ...globals.browser } },
  },
  {
    files: ["dashboard/lapor/sw.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: { ...globals.serviceworker },
    },
  },
  {
    files: ["tests/js/lapor/**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "commonjs", globals: { ...globals.node } },
  },
];
