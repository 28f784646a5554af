/*
 * Posko admin page: users, officers' device tokens, kiosk links, the officers' phone
 * enrolment sheet and their chat/SMS senders, through the API only.
 * Secrets (a new token, its HMAC secret, a kiosk URL) are shown once and never stored here.
 * The API answers only with what lies in the admin's area; an empty area field means that area.
 */
(function () {
  "use strict";

  var W = JSON.parse(document.getElementById("admin-words").textContent);

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "cls") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) {
      return values[k];
    });
  }

  function reasonOf(body, status) {
    var d = body && body.detail;
    if (d && d.reason) return (d.field ? d.field + ": " : "") + d.reason;
    if (Array.isArray(d)) {
      return d
        .map(function (e) {
          return (e.loc ? e.loc[e.loc.length - 1] + ": " : "") + e.msg;
        })
        .join("; ");
    }
    return typeof d === "string" ? d : "HTTP " + status;
  }

  function req(method, url, body) {
    var opts = { method: method, credentials: "same-origin", cache: "no-store", headers: {} };
    if (body !== undefined) {
      opts.headers["content-type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (r) {
      return r
        .json()
        .catch(function () {
          return null;
        })
        .then(function (b) {
          if (!r.ok) throw new Error(reasonOf(b, r.status));
          return b;
        });
    });
  }

  function say(text, kind) {
    var box = document.getElementById("admin-toast");
    box.className = "admin-msg " + kind;
    box.textContent = text;
  }

  function refused(e) {
    say(fill(W.refused, { reason: e.message }), "error");
  }

  var wibFmt = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Jakarta",
    day: "2-digit",
    month: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });

  function when(iso) {
    return iso ? wibFmt.format(new Date(iso)).replace(",", "") + " WIB" : "—";
  }

  function table(head, rows) {
    if (!rows.length) return el("p", { cls: "empty", text: W.adm_none });
    return el("table", { cls: "admin-table" }, [
      el("thead", {}, [el("tr", {}, head.map(function (h) { return el("th", { text: h }); }))]),
      el("tbody", {}, rows),
    ]);
  }

  function field(label, input) {
    return el("label", { cls: "filter" }, [el("span", { text: label }), input]);
  }

  function form(id, fields, submitText, onSubmit) {
    var f = el("form", { id: id, cls: "admin-form" }, fields.concat([el("button", { cls: "button", type: "submit", text: submitText })]));
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      onSubmit(f);
    });
    return f;
  }

  function once(section, lines) {
    var box = el("div", { cls: "once", role: "status" }, [el("b", { text: W.adm_once })].concat(
      lines.map(function (l) {
        return el("div", { cls: "secret" }, [el("span", { text: l[0] + " " }), el("code", { text: l[1] })]);
      })
    ));
    var old = section.querySelector(".once");
    if (old) old.remove();
    section.insertBefore(box, section.children[1] || null);
  }

  function revokeButton(url, reload) {
    var b = el("button", { cls: "act act-revoke", type: "button", text: W.adm_revoke });
    b.addEventListener("click", function () {
      req("DELETE", url).then(function () {
        say(W.adm_revoked, "ok");
        reload();
      }, refused);
    });
    return b;
  }

  // -- users

  var users = document.getElementById("adm-users");

  // A change of role or a disable ends that person's sessions at once (the API does it).
  function patchUser(u, change) {
    req("PATCH", "/api/v1/users/" + u.id, change).then(function () {
      say(W.adm_saved, "ok");
      loadUsers();
    }, function (e) {
      refused(e);
      loadUsers();
    });
  }

  function userRow(u) {
    var role = roleSelect(u.role);
    role.addEventListener("change", function () { patchUser(u, { role: role.value }); });
    var toggle = el("button", {
      cls: "act act-" + (u.is_active ? "disable" : "enable"), type: "button",
      text: u.is_active ? W.adm_disable : W.adm_enable,
    });
    toggle.addEventListener("click", function () { patchUser(u, { is_active: !u.is_active }); });
    return el("tr", { "data-user": u.username, "data-active": String(u.is_active) }, [
      el("td", { text: u.username }),
      el("td", { text: u.full_name }),
      el("td", {}, [role]),
      el("td", { text: u.area_code || "—" }),
      el("td", { text: u.is_active ? "✓" : "✗" }),
      el("td", { text: when(u.locked_until) + (u.failed_logins ? " (" + u.failed_logins + "×)" : "") }),
      el("td", { text: when(u.last_login_at) }),
      el("td", {}, [toggle, u.failed_logins || u.locked_until ? unlockButton(u) : null]),
    ]);
  }

  // After too many wrong passwords each attempt waits; an admin lets the person in at once.
  function unlockButton(u) {
    var b = el("button", { cls: "act act-unlock", type: "button", text: W.adm_unlock });
    b.addEventListener("click", function () {
      req("POST", "/api/v1/users/" + u.id + "/unlock").then(function () {
        say(W.adm_unlocked, "ok");
        loadUsers();
      }, refused);
    });
    return b;
  }

  function loadUsers() {
    req("GET", "/api/v1/users").then(function (body) {
      var list = users.querySelector(".list");
      list.replaceChildren(table([W.login_username, W.adm_full_name, W.adm_role, W.adm_area, W.adm_active, W.adm_locked, W.adm_last_login, ""], body.data.map(userRow)));
    }, refused);
  }

  function roleSelect(current) {
    return el("select", { name: "role" }, W.roles.map(function (r) {
      var o = el("option", { value: r, text: r });
      if (r === current) o.selected = true;
      return o;
    }));
  }

  users.append(
    el("h2", { cls: "panel-title", text: W.adm_users }),
    el("div", { cls: "list" }),
    el("h3", { cls: "sub-title", text: W.adm_new_user }),
    form("new-user", [
      field(W.login_username, el("input", { name: "username", required: "", autocomplete: "off" })),
      field(W.adm_full_name, el("input", { name: "full_name", required: "" })),
      field(W.adm_role, roleSelect()),
      field(W.login_password, el("input", { name: "password", type: "password", required: "", autocomplete: "new-password" })),
      field(W.adm_area, el("input", { name: "area_code" })),
    ], W.adm_create, function (f) {
      req("POST", "/api/v1/users", {
        username: f.username.value.trim(),
        full_name: f.full_name.value.trim(),
        role: f.role.value,
        password: f.password.value,
        area_code: f.area_code.value.trim() || null,
      }).then(function () {
        f.reset();
        say(W.adm_saved, "ok");
        loadUsers();
      }, refused);
    })
  );

  // -- device tokens

  var devices = document.getElementById("adm-devices");

  function loadDevices() {
    req("GET", "/api/v1/credentials?kind=device").then(function (body) {
      var rows = body.data.map(function (c) {
        return el("tr", { "data-credential": String(c.id) }, [
          el("td", { text: c.officer || "—" }),
          el("td", { text: c.name }),
          el("td", {}, [el("code", { text: c.prefix })]),
          el("td", { text: when(c.created_at) }),
          el("td", {}, [revokeButton("/api/v1/credentials/" + c.id, loadDevices)]),
        ]);
      });
      devices.querySelector(".list").replaceChildren(table([W.adm_nrp, W.adm_name, W.adm_prefix, W.adm_created, ""], rows));
    }, refused);
  }

  devices.append(
    el("h2", { cls: "panel-title", text: W.adm_devices }),
    form("new-device", [
      field(W.adm_nrp, el("input", { name: "nrp", required: "" })),
      field(W.adm_name, el("input", { name: "name" })),
    ], W.adm_issue, function (f) {
      var body = { nrp: f.nrp.value.trim() };
      if (f.name.value.trim()) body.name = f.name.value.trim();
      req("POST", "/api/v1/device-tokens", body).then(function (issued) {
        f.reset();
        var lines = [["token", issued.token]];
        if (issued.hmac_secret) lines.push(["HMAC #" + issued.hmac_key_id, issued.hmac_secret]);
        once(devices, lines);
        loadDevices();
      }, refused);
    }),
    el("div", { cls: "list" })
  );

  // -- kiosk links

  var kiosks = document.getElementById("adm-kiosks");

  function loadKiosks() {
    req("GET", "/api/v1/kiosk-links").then(function (body) {
      var rows = body.data.map(function (c) {
        return el("tr", { "data-credential": String(c.id) }, [
          el("td", { text: c.name }),
          el("td", {}, [el("code", { text: c.prefix })]),
          el("td", { text: c.area_code || "—" }),
          el("td", { text: when(c.created_at) }),
          el("td", {}, [revokeButton("/api/v1/kiosk-links/" + c.id, loadKiosks)]),
        ]);
      });
      kiosks.querySelector(".list").replaceChildren(table([W.adm_name, W.adm_prefix, W.adm_area, W.adm_created, ""], rows));
    }, refused);
  }

  kiosks.append(
    el("h2", { cls: "panel-title", text: W.adm_kiosks }),
    form("new-kiosk", [
      field(W.adm_name, el("input", { name: "name", value: "wall display", required: "" })),
      field(W.adm_next, el("input", { name: "next", value: "/wall", required: "" })),
      field(W.adm_area, el("input", { name: "area_code" })),
    ], W.adm_issue, function (f) {
      req("POST", "/api/v1/kiosk-links", {
        name: f.name.value.trim(),
        next: f.next.value.trim(),
        area_code: f.area_code.value.trim() || null,
      }).then(function (link) {
        once(kiosks, [["URL", link.url]]);
        loadKiosks();
      }, refused);
    }),
    el("div", { cls: "list" })
  );

  // -- phone enrolment: a printed sheet of one-time QR links (the links are on the sheet only)

  var enrol = document.getElementById("adm-enrol");

  function stateName(state) {
    return W["adm_state_" + state] || state;
  }

  function loadEnrolments() {
    req("GET", "/api/v1/enrolments?limit=500").then(function (body) {
      var rows = body.data.map(function (e) {
        return el("tr", { "data-enrolment": String(e.id), "data-state": e.state }, [
          el("td", { text: e.officer.nrp }),
          el("td", { text: e.officer.rank + " " + e.officer.name }),
          el("td", { text: e.officer.unit_name }),
          el("td", { cls: "state", text: stateName(e.state) }),
          el("td", { text: when(e.created_at) }),
          el("td", { text: when(e.expires_at) }),
          el("td", {}, [e.state === "waiting" ? revokeButton("/api/v1/enrolments/" + e.id, loadEnrolments) : null]),
        ]);
      });
      enrol.querySelector(".list").replaceChildren(table([W.adm_nrp, W.adm_name, W.adm_unit, W.adm_state, W.adm_created, W.adm_expires, ""], rows));
    }, refused);
  }

  // The units to choose from: those of the officers the API shows this admin (its area).
  function loadUnits(select) {
    req("GET", "/api/v1/officers").then(function (body) {
      var units = {};
      body.data.forEach(function (o) {
        units[o.unit_code] = units[o.unit_code] || { name: o.unit, n: 0 };
        units[o.unit_code].n += 1;
      });
      Object.keys(units)
        .sort(function (a, b) { return units[a].name.localeCompare(units[b].name); })
        .forEach(function (code) {
          select.appendChild(el("option", { value: code, text: units[code].name + " (" + units[code].n + ")" }));
        });
    }, refused);
  }

  // The sheet opens in a window of its own: opened now, inside the click (a window opened
  // after the answer would be a blocked pop-up), and filled when the answer comes.
  function printSheet(f) {
    var body = { polsek: f.polsek.value || null, nrp: f.nrp.value.trim() || null };
    if (f.hours.value) body.expires_hours = Number(f.hours.value);
    var win = window.open("", "_blank");
    fetch("/api/v1/enrolments?format=html", {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "content-type": "application/json", accept: "text/html" },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        if (r.ok) return r.text();
        return r.json().catch(function () { return null; }).then(function (b) {
          throw new Error(reasonOf(b, r.status));
        });
      })
      .then(function (page) {
        if (win) {
          win.document.open();
          win.document.write(page);
          win.document.close();
        } else {
          window.open(URL.createObjectURL(new Blob([page], { type: "text/html" })), "_blank");
        }
        f.nrp.value = "";
        say(W.adm_enrol_made, "ok");
        loadEnrolments();
      }, function (e) {
        if (win) win.close();
        refused(e);
      });
  }

  var polsekSelect = el("select", { name: "polsek" }, [el("option", { value: "", text: W.adm_enrol_all })]);
  enrol.append(
    el("h2", { cls: "panel-title", text: W.adm_enrol }),
    el("p", { cls: "hint", text: W.adm_enrol_hint }),
    form("new-enrolment", [
      field(W.adm_enrol_polsek, polsekSelect),
      field(W.adm_enrol_nrp, el("input", { name: "nrp", autocomplete: "off" })),
      field(W.adm_enrol_hours, el("input", { name: "hours", type: "number", min: "1", max: "720", step: "1", placeholder: String(W.enrol_hours) })),
    ], W.adm_enrol_print, printSheet),
    el("div", { cls: "list" })
  );

  // -- chat and SMS senders: a phone number or Telegram chat bound to one officer (audited)

  var senders = document.getElementById("adm-senders");

  function sendersUrl(nrp) {
    return "/api/v1/officers/" + encodeURIComponent(nrp) + "/senders";
  }

  function loadSenders(nrp) {
    if (!nrp) return;
    req("GET", sendersUrl(nrp)).then(function (body) {
      var rows = body.data.map(function (s) {
        var url = sendersUrl(nrp) + "/" + s.kind + "/" + encodeURIComponent(s.address);
        return el("tr", { "data-sender": s.kind + ":" + s.address }, [
          el("td", { text: s.nrp }),
          el("td", { text: s.kind === "telegram" ? W.adm_sender_telegram : W.adm_sender_phone }),
          el("td", { text: s.address }),
          el("td", { text: s.bound_by }),
          el("td", { text: when(s.bound_at) }),
          el("td", {}, [revokeButton(url, function () { loadSenders(nrp); })]),
        ]);
      });
      senders.querySelector(".list").replaceChildren(
        table([W.adm_nrp, W.adm_sender_kind, W.adm_sender_address, W.adm_sender_by, W.adm_created, ""], rows)
      );
    }, refused);
  }

  var senderKind = el("select", { name: "kind" }, [
    el("option", { value: "phone", text: W.adm_sender_phone }),
    el("option", { value: "telegram", text: W.adm_sender_telegram }),
  ]);
  senders.append(
    el("h2", { cls: "panel-title", text: W.adm_senders }),
    el("p", { cls: "hint", text: W.adm_senders_hint }),
    form("new-sender", [
      field(W.adm_nrp, el("input", { name: "nrp", autocomplete: "off", required: "required" })),
      field(W.adm_sender_kind, senderKind),
      field(W.adm_sender_address, el("input", { name: "address", autocomplete: "off", required: "required" })),
    ], W.adm_sender_link, function (f) {
      var nrp = f.nrp.value.trim();
      var body = {};
      body[f.kind.value] = f.address.value.trim();
      req("POST", sendersUrl(nrp), body).then(function () {
        f.address.value = "";
        say(W.adm_saved, "ok");
        loadSenders(nrp);
      }, refused);
    }),
    form("find-senders", [
      field(W.adm_nrp, el("input", { name: "nrp", autocomplete: "off", required: "required" })),
    ], W.adm_sender_show, function (f) {
      loadSenders(f.nrp.value.trim());
    }),
    el("div", { cls: "list" })
  );

  // -- PPK places: where each kecamatan's boxes go (PUT /api/v1/ppk/{kecamatan}, audited)

  var ppk = document.getElementById("adm-ppk");

  function loadPpk() {
    req("GET", "/api/v1/ppk").then(function (places) {
      var rows = places.map(function (p) {
        return el("tr", { "data-kecamatan": p.kecamatan_code }, [
          el("td", { text: p.kecamatan_code }),
          el("td", { text: p.name }),
          el("td", { text: p.lat.toFixed(5) + ", " + p.lon.toFixed(5) }),
          el("td", { text: p.is_default ? W.adm_ppk_default : W.adm_ppk_set + " " + when(p.updated_at) }),
        ]);
      });
      ppk.querySelector(".list").replaceChildren(
        table([W.adm_ppk_kecamatan, W.adm_ppk_name, W.adm_ppk_lat + ", " + W.adm_ppk_lon, ""], rows)
      );
    }, refused);
  }

  ppk.append(
    el("h2", { cls: "panel-title", text: W.adm_ppk }),
    el("p", { cls: "hint", text: W.adm_ppk_hint }),
    form("ppk-place", [
      field(W.adm_ppk_kecamatan, el("input", { name: "kecamatan", autocomplete: "off", required: "required", placeholder: "16.08.01" })),
      field(W.adm_ppk_name, el("input", { name: "name", autocomplete: "off", required: "required" })),
      field(W.adm_ppk_lat, el("input", { name: "lat", type: "number", step: "any", min: "-90", max: "90", required: "required" })),
      field(W.adm_ppk_lon, el("input", { name: "lon", type: "number", step: "any", min: "-180", max: "180", required: "required" })),
    ], W.adm_ppk_save, function (f) {
      var url = "/api/v1/ppk/" + encodeURIComponent(f.kecamatan.value.trim());
      req("PUT", url, { name: f.name.value.trim(), lat: Number(f.lat.value), lon: Number(f.lon.value) }).then(function () {
        say(W.adm_saved, "ok");
        loadPpk();
      }, refused);
    }),
    el("div", { cls: "list" })
  );

  loadPpk();
  loadUsers();
  loadDevices();
  loadKiosks();
  loadUnits(polsekSelect);
  loadEnrolments();
})();
