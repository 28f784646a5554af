/*
 * Posko sign-in form: posts username and password to the login API and goes on to `next`;
 * refusals are explained in the page's language (the words come from #login-words).
 * Inlined by dashboard/plain.py: it must work before anyone is signed in.
 */
(function () {
  var W = JSON.parse(document.getElementById("login-words").textContent);
  var form = document.getElementById("login-form");
  var out = document.getElementById("login-error");
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    out.textContent = "";
    var body = {username: form.username.value, password: form.password.value};
    fetch("/api/v1/auth/login", {method: "POST", credentials: "same-origin",
      headers: {"content-type": "application/json"}, body: JSON.stringify(body)})
      .then(function (r) {
        if (r.ok) { location.replace(form.next.value); return null; }
        return r.json().catch(function () { return {}; }).then(function (b) {
          var d = (b && b.detail) || {};
          var reason = d.reason || ("HTTP " + r.status);
          if (r.status === 401) out.textContent = W.wrong;
          else if (r.status === 429 && d.field === "username") {
            out.textContent = fill(W.waiting, {seconds: r.headers.get("retry-after") || "?"});
          } else if (r.status === 429) {
            var s = Number(r.headers.get("retry-after")) || 60;
            out.textContent = fill(W.throttled, {minutes: Math.ceil(s / 60)});
          } else if (r.status === 422) out.textContent = W.missing;
          else out.textContent = fill(W.failed, {reason: reason});
          form.password.value = "";
          form.password.focus();
        });
      })
      .catch(function (e) { out.textContent = fill(W.failed, {reason: String(e)}); });
  });
})();
