// Runs first, as a classic script in <head>, before the page is drawn or any module loads:
// an enrolment link's one-time code (`/lapor/#daftar=<code>`) leaves the address bar and the
// browser history at once (replaceState rewrites the current entry), and is handed to
// main.js in memory only. It never reached a server either: it was in the URL's fragment.
(function () {
  "use strict";
  var prefix = "#daftar=";
  if (location.hash.indexOf(prefix) !== 0) return;
  var code = location.hash.slice(prefix.length);
  history.replaceState(null, "", location.pathname + location.search);
  try {
    code = decodeURIComponent(code);
  } catch {
    code = "";
  }
  window.poskoEnrolCode = code;
})();
