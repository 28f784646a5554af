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
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "commonjs", globals: { ...globals.node } },
  },
];
