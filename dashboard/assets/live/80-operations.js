/*
 * Posko live client · operations: the exceptions feed, the commander's incident list and their
 * actions.
 *
 * One path for every action: a fetch to the existing API with this browser's cookie. The API
 * already checks the role, compares versions and publishes the change; every open screen then
 * sees it in the next delta, this one included. The page only hides what the role cannot do.
 */
(function (root, name, deps, factory) {
  "use strict";
  if (typeof module === "object" && module.exports) {
    module.exports = factory.apply(null, deps.map(function (d) { return require("./" + d + ".js"); }));
    return;
  }
  var ns = root.posko || (root.posko = {});
  ns[name] = factory.apply(null, deps.map(function (d) {
    var dep = ns[d.replace(/^\d+-/, "")];
    if (!dep) throw new Error("posko: " + d + ".js must load before " + name);
    return dep;
  }));
})(typeof self !== "undefined" ? self : this, "operations", ["10-text", "30-store", "50-dash"], function (
  text,
  storeModule,
  dash
) {
  "use strict";

  var ROLE_RANK = { viewer: 0, operator: 1, commander: 2, admin: 3 };
  var ALERT_RANK = { critical: 0, warning: 1 };
  var ME_RETRY_MS = 10000;
  var LISTS_MIN_MS = 400; // the alerts feed and the incident list: one redraw per this, at most
  var LISTS_EVERY_MS = 30000; // ages ("5 min ago") and silences that ran out move with time
  var OPEN = storeModule.OPEN;
  var fmt = text.fmt;
  var ms = text.ms;
  var hhmm = text.hhmm;
  var comp = dash.comp;

  /** `o.store`, `o.bridge`, `o.cfg()`, `o.now()`. */
  function createOperations(o) {
    var store = o.store;
    var bridge = o.bridge;
    var now = o.now;
    var me = null; // /api/v1/auth/me: who this browser is, to show only the actions it may take
    var meAt = 0;
    var alertsAt = 0;
    var listAt = 0;
    var alertsFit = null; // how many alerts the wall's panel holds, as measured
    var alertsTop = 0;
    var kecNames = null;
    var kecNamesFor = null;
    var photos = new Map(); // incident id -> {n: photo count read, list, loading}

    function cfg() {
      return o.cfg();
    }

    function word(key) {
      return cfg().i18n.words[key];
    }

    function agoText(seconds) {
      return text.agoText(seconds, cfg().i18n.words);
    }

    function can(role) {
      if (!me || me.kind === "kiosk" || !me.role || !cfg().incidents) return false;
      return ROLE_RANK[me.role] >= ROLE_RANK[role];
    }

    function loadMe() {
      meAt = now();
      fetch(cfg().urls.me, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          return r.ok ? r.json() : null;
        })
        .then(function (who) {
          if (!who) return;
          me = who;
          store.changed.alerts = true;
          store.changed.list = true;
          // The server-drawn TPS panel carries its actions for everyone: show them to commanders.
          document.body.classList.toggle("can-commander", can("commander"));
          if (cfg().admin_link && who.role === "admin" && who.kind !== "kiosk") {
            bridge.setProps(cfg().admin_link, { className: "admin-link" });
          }
        })
        .catch(function () {
          /* no actions offered until the next try */
        });
    }

    /** Every second: ask again who this is (until known) and fit the wall's alerts panel. */
    function everySecond() {
      if (!me && cfg().incidents && now() - meAt > ME_RETRY_MS) loadMe();
      fitAlerts();
    }

    /** Redraw the feed and the incident list when they changed (at most every LISTS_MIN_MS). */
    function draw() {
      var c = store.changed;
      var t = now();
      if ((c.alerts && t - alertsAt > LISTS_MIN_MS) || t - alertsAt > LISTS_EVERY_MS) {
        c.alerts = false;
        renderAlerts();
      }
      if (cfg().incidents && ((c.list && t - listAt > LISTS_MIN_MS) || t - listAt > LISTS_EVERY_MS)) {
        c.list = false;
        listAt = now();
        renderIncidents();
      }
    }

    function isSilenced(a) {
      if (!a.silenced_at) return false;
      return !a.silenced_until || ms(a.silenced_until) > store.serverNow();
    }

    function kecamatanName(code) {
      if (!kecNames || kecNamesFor !== store.tps) {
        kecNames = new Map();
        kecNamesFor = store.tps;
        store.tps.forEach(function (t) {
          kecNames.set(t.kecamatan_code, t.kecamatan);
        });
      }
      return kecNames.get(code) || "";
    }

    function officerText(nrp) {
      var name = store.officerNames.get(nrp);
      return "NRP " + nrp + (name ? " · " + name : "");
    }

    function subjectText(a) {
      var i18n = cfg().i18n;
      if (a.subject_kind === "tps") {
        var t = store.tps.get(a.subject);
        return a.subject + (t ? " · " + t.name + " " + t.desa + ", " + t.kecamatan : "");
      }
      if (a.subject_kind === "officer") return officerText(a.subject);
      if (a.subject_kind === "kecamatan") return "Kec. " + kecamatanName(a.subject) + " (" + a.subject + ")";
      if (a.subject_kind === "kabupaten") return "Kab. " + a.subject;
      if (a.subject_kind === "incident") {
        var inc = store.incidents.get(Number(a.subject)) || store.resolved.get(Number(a.subject));
        var tps = (inc && inc.tps) || (a.detail || {}).tps;
        var sev = (inc && inc.severity) || (a.detail || {}).severity;
        return (
          "#" + a.subject + (sev ? " " + fmt(i18n.words.sev, { n: sev }) : "") +
          (inc ? " " + i18n.categories[inc.category] : "") + (tps ? " · TPS " + store.tpsLabel(tps) : "")
        );
      }
      return i18n.words.system;
    }

    function heldText(c) {
      if (c.subject_kind === "tps") return store.tpsLabel(c.subject);
      if (c.subject_kind === "officer") return "NRP " + c.subject;
      return c.subject;
    }

    function alertOrder(a, b) {
      // An officer's SOS above everything; silenced last; then the loudest; then the newest.
      return (
        (b.kind === "sos") - (a.kind === "sos") ||
        isSilenced(a) - isSilenced(b) ||
        ALERT_RANK[a.severity] - ALERT_RANK[b.severity] ||
        ms(b.raised_at) - ms(a.raised_at) ||
        b.id - a.id
      );
    }

    function button(act, kind, id, label) {
      return comp("Button", {
        className: "act act-" + act,
        "data-act": act,
        "data-kind": kind,
        "data-id": String(id),
        children: label,
      });
    }

    function tpsButton(act, code, phase, label) {
      return comp("Button", {
        className: "act act-" + act,
        "data-act": act,
        "data-kind": "tps",
        "data-id": code,
        "data-phase": phase,
        children: label,
      });
    }

    function chip(label, colour) {
      return comp("Span", { className: "chip", style: { "--chip": colour }, children: label });
    }

    function renderAlerts() {
      var id = cfg().ids.alerts;
      if (!id) return;
      alertsAt = now();
      var wall = !cfg().incidents;
      var w = cfg().i18n.words;
      var held = new Map(); // network outage id -> the alerts held under it
      var top = [];
      store.alerts.forEach(function (a) {
        if (a.parent_id && store.alerts.has(a.parent_id)) {
          if (!held.has(a.parent_id)) held.set(a.parent_id, []);
          held.get(a.parent_id).push(a);
        } else {
          top.push(a);
        }
      });
      // The wall shows what still needs someone; silenced alerts stay on the commander's list.
      if (wall) {
        top = top.filter(function (a) {
          return !isSilenced(a);
        });
      }
      top.sort(alertOrder);
      var limit = wall ? alertsFit || cfg().alerts_show : cfg().alerts_show;
      alertsTop = top.length;
      var rows = top.slice(0, limit).map(function (a) {
        return alertRow(a, held.get(a.id) || [], wall);
      });
      if (top.length > limit) {
        rows.push(comp("Div", { className: "alert-more", children: fmt(w.alerts_more, { n: top.length - limit }) }));
      }
      bridge.setOnce(id, "alerts", JSON.stringify(rows), { children: rows.length ? rows : w.no_alerts });
    }

    function fitAlerts() {
      // The wall never scrolls: show as many alerts as its panel holds (and "+n more" for the
      // rest), measured on the screen it runs on.
      var box = document.getElementById(cfg().ids.alerts);
      if (!box || cfg().incidents || !box.lastElementChild) return;
      var fit = alertsFit || cfg().alerts_show;
      var bottom = box.getBoundingClientRect().bottom;
      var rows = box.querySelectorAll(".alert");
      var last = box.lastElementChild.getBoundingClientRect();
      var next = fit;
      if (last.bottom > bottom + 1 && fit > 1) next = fit - 1;
      else if (rows.length === fit && alertsTop > fit) {
        var tall = rows[0].getBoundingClientRect().height;
        if (bottom - last.bottom > tall * 1.5) next = fit + 1;
      }
      if (next !== fit) {
        alertsFit = next;
        store.changed.alerts = true;
      }
    }

    function alertRow(a, under, wall) {
      var w = cfg().i18n.words;
      var at = ms(a.raised_at);
      var parts = [
        comp("Span", { className: "alert-kind", children: cfg().i18n.alert_kinds[a.kind] || a.kind }),
        comp("Span", {
          className: "alert-since",
          children: hhmm(at) + " " + w.wib + " · " + agoText((store.serverNow() - at) / 1000),
        }),
        comp("Div", { className: "alert-subject", children: subjectText(a) }),
      ];
      if (under.length) {
        under.sort(function (x, y) {
          return x.subject < y.subject ? -1 : 1;
        });
        var show = wall ? 4 : 30;
        var names = under.slice(0, show).map(heldText).join(", ") + (under.length > show ? ", …" : "");
        parts.push(
          comp("Div", {
            className: "alert-held",
            children: [comp("B", { children: fmt(w.alert_held, { n: under.length }) + ": " }), names],
          })
        );
      }
      var state = [];
      if (a.acknowledged_at) state.push(fmt(w.alert_acked, { who: a.acknowledged_by }));
      if (isSilenced(a)) {
        state.push(
          a.silenced_until
            ? fmt(w.alert_silenced, { who: a.silenced_by, until: hhmm(ms(a.silenced_until)) + " " + w.wib })
            : fmt(w.alert_silenced_clear, { who: a.silenced_by })
        );
      }
      if (state.length && !wall) parts.push(comp("Div", { className: "alert-state", children: state.join(" · ") }));
      if (!wall) {
        var acts = [];
        if (!a.acknowledged_at && can("operator")) acts.push(button("ack", "alert", a.id, w.a_ack));
        if (!isSilenced(a) && can("commander")) acts.push(button("silence", "alert", a.id, w.a_silence));
        if (a.kind === "phase_claim" && can("commander") && a.detail) {
          acts.push(tpsButton("confirm", a.subject, a.detail.claimed_phase, w.a_confirm));
        }
        if (acts.length) parts.push(comp("Div", { className: "actions", children: acts }));
      }
      var cls = "alert alert-" + a.severity + " kind-" + a.kind;
      if (a.acknowledged_at) cls += " acked";
      if (isSilenced(a)) cls += " silenced";
      return comp("Div", { className: cls, "data-alert": String(a.id), children: parts });
    }

    function assigneeText(who) {
      if (!who) return null;
      var i = who.indexOf(":");
      var kind = who.slice(0, i);
      var value = who.slice(i + 1);
      return kind === "officer" ? officerText(value) : value;
    }

    function renderIncidents() {
      var w = cfg().i18n.words;
      var open = Array.from(store.incidents.values()).sort(function (a, b) {
        return !!b.sos - !!a.sos || b.severity - a.severity || ms(b.opened_at) - ms(a.opened_at);
      });
      var done = Array.from(store.resolved.values()).sort(function (a, b) {
        return ms(b.updated_at) - ms(a.updated_at);
      });
      var children = [];
      if (open.length) children.push(comp("Ol", { className: "incident-list", children: open.map(incidentRow) }));
      else children.push(comp("P", { className: "empty", children: w.no_incidents }));
      if (done.length) {
        children.push(comp("H3", { className: "sub-title", children: w.resolved_waiting }));
        children.push(comp("Ol", { className: "incident-list resolved", children: done.map(incidentRow) }));
      }
      bridge.setOnce(cfg().incidents, "incidents", JSON.stringify(children), { children: children });
      forgetPhotos();
    }

    // -- photos of an incident's reports: thumbnails in its row, the full image in a new tab

    function photosOf(inc) {
      // The list is read again whenever the incident's photo count changed (a live delta).
      var held = photos.get(inc.id);
      if (held && held.n === inc.photos) return held.list;
      if (!held || !held.loading) {
        photos.set(inc.id, { n: held ? held.n : -1, list: held ? held.list : [], loading: true });
        var want = inc.photos;
        fetch(cfg().urls.incident + inc.id + "/photos", { credentials: "same-origin", cache: "no-store" })
          .then(function (r) {
            return r.ok ? r.json() : null;
          })
          .then(function (body) {
            photos.set(inc.id, { n: body ? want : -1, list: body ? body.data : [], loading: false });
            store.changed.list = true;
          })
          .catch(function () {
            photos.set(inc.id, { n: -1, list: [], loading: false }); // tried again at the next draw
          });
      }
      return held ? held.list : [];
    }

    function forgetPhotos() {
      photos.forEach(function (_, id) {
        if (!store.incidents.has(id) && !store.resolved.has(id)) photos.delete(id);
      });
    }

    function photoStrip(inc) {
      var w = cfg().i18n.words;
      var list = photosOf(inc);
      return comp("Div", {
        className: "photos",
        children: list.map(function (p) {
          return comp("A", {
            className: "photo",
            href: p.url,
            target: "_blank",
            rel: "noopener",
            title: w.photo_open,
            "data-photo": String(p.id),
            children: comp("Img", { src: p.thumb_url, alt: fmt(w.photo_alt, { n: p.index + 1, id: inc.id }) }),
          });
        }),
      });
    }

    function incidentRow(inc) {
      var i18n = cfg().i18n;
      var w = i18n.words;
      var t = store.tps.get(inc.tps || "");
      var where = t ? inc.tps + " · " + t.desa + ", " + t.kecamatan : inc.tps || inc.kecamatan_code || "—";
      var opened = ms(inc.opened_at);
      var st = inc.status;
      var isOpen = OPEN.indexOf(st) >= 0;
      var acts = [];
      if (st === "baru" && can("operator")) acts.push(button("accept", "incident", inc.id, w.a_accept));
      if ((st === "diterima" || st === "ditangani") && can("commander")) {
        acts.push(button("dispatch", "incident", inc.id, w.a_dispatch));
      }
      if (st === "ditangani" && can("commander")) acts.push(button("resolve", "incident", inc.id, w.a_resolve));
      if (st === "selesai" && can("commander")) acts.push(button("close", "incident", inc.id, w.a_close));
      if (can("operator")) acts.push(button("note", "incident", inc.id, w.a_note));
      if (isOpen && can("commander") && store.incidents.size > 1) acts.push(button("merge", "incident", inc.id, w.a_merge));
      if (isOpen && can("commander") && inc.reports > 1) acts.push(button("split", "incident", inc.id, w.a_split));
      acts.push(button("history", "incident", inc.id, w.a_history));
      var head = [
        chip(fmt(w.sev, { n: inc.severity }), cfg().theme.severity_colours[String(inc.severity)]),
        comp("B", { children: i18n.categories[inc.category] || inc.category }),
        comp("Span", { className: "status status-" + st, children: i18n.statuses[st] || st }),
        comp("Span", {
          className: "when",
          children: "#" + inc.id + " · " + hhmm(opened) + " " + w.wib + " · " + agoText((store.serverNow() - opened) / 1000),
        }),
      ];
      if (inc.sos) head.unshift(comp("Span", { className: "chip chip-sos", children: w.sos_title }));
      var parts = [
        comp("Div", { className: "incident-head", children: head }),
        comp("Div", { className: "where", children: where }),
        comp("Div", { className: "note", children: inc.description }),
        comp("Div", {
          className: "who",
          children: fmt(w.reports, { n: inc.reports }) + ": NRP " + (inc.reported_by || []).join(", "),
        }),
      ];
      if (inc.assignee) {
        parts.push(comp("Div", { className: "assignee", children: fmt(w.assignee, { who: assigneeText(inc.assignee) }) }));
      }
      if (inc.photos) parts.push(photoStrip(inc));
      parts.push(comp("Div", { className: "actions", children: acts }));
      return comp("Li", {
        className: "incident sev-" + inc.severity + " st-" + st + (inc.sos ? " sos" : ""),
        "data-incident": String(inc.id),
        children: parts,
      });
    }

    // -- talking to the API

    function reasonOf(body, status) {
      var d = body && body.detail;
      if (d && d.reason) return d.reason;
      if (Array.isArray(d) && d.length) {
        return d
          .map(function (e) {
            // Name the field, as every refusal of the API does: "reason: String should have ...".
            var field = e.loc && e.loc.length ? e.loc[e.loc.length - 1] + ": " : "";
            return field + (e.msg || e.reason || JSON.stringify(e));
          })
          .join("; ");
      }
      if (typeof d === "string") return d;
      return "HTTP " + status;
    }

    function request(method, url, body) {
      var opts = { method: method, credentials: "same-origin", cache: "no-store", headers: {} };
      if (body !== undefined) {
        opts.headers["content-type"] = "application/json";
        opts.body = JSON.stringify(body);
      }
      return fetch(url, opts).then(function (r) {
        if (r.ok) return r.json();
        return r
          .json()
          .catch(function () {
            return null;
          })
          .then(function (b) {
            var err = new Error(reasonOf(b, r.status));
            err.status = r.status;
            throw err;
          });
      });
    }

    function toast(line, kind) {
      var box = document.getElementById("posko-toast");
      if (!box) {
        box = document.createElement("div");
        box.id = "posko-toast";
        box.setAttribute("role", "status");
        document.body.appendChild(box);
      }
      box.className = "toast toast-" + kind;
      box.textContent = line;
      clearTimeout(box._hide);
      box._hide = setTimeout(function () {
        box.className = "toast hidden";
      }, kind === "error" ? 12000 : 4000);
    }

    function refused(err) {
      toast(fmt(word("refused"), { reason: err.message }), "error");
    }

    function run(method, url, body) {
      return request(method, url, body).then(function () {
        toast(word("d_done"), "ok");
      }, refused);
    }

    function closeDialog() {
      var old = document.getElementById("posko-dialog");
      if (old) old.remove();
    }

    function el(tag, cls, content) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (content !== undefined && content !== null) e.textContent = content;
      return e;
    }

    function dialog(title, fields, submit) {
      // A plain DOM dialog outside Dash's tree: live redraws of the lists never touch what is typed.
      closeDialog();
      var w = cfg().i18n.words;
      var dlg = el("dialog", "posko-dialog");
      dlg.id = "posko-dialog";
      var form = el("form", "dialog-form");
      form.appendChild(el("h3", "dialog-title", title));
      fields.forEach(function (f) {
        if (f.type === "info") {
          var box = el("div", "dialog-info");
          if (f.label) box.appendChild(el("div", "dialog-label", f.label));
          var ol = el("ol", "dialog-lines");
          f.lines.forEach(function (line) {
            ol.appendChild(el("li", "", line));
          });
          box.appendChild(ol);
          form.appendChild(box);
          return;
        }
        var label = el("label", "dialog-field");
        label.appendChild(el("span", "dialog-label", f.label));
        var input;
        if (f.type === "select") {
          input = el("select");
          f.options.forEach(function (opt) {
            var op = el("option", "", opt.label);
            op.value = opt.value;
            input.appendChild(op);
          });
        } else if (f.type === "textarea") {
          input = el("textarea");
          input.rows = 3;
        } else {
          input = el("input");
          input.type = "text";
        }
        input.name = f.name;
        label.appendChild(input);
        form.appendChild(label);
      });
      var err = el("div", "dialog-error");
      err.setAttribute("role", "alert");
      form.appendChild(err);
      var row = el("div", "dialog-buttons");
      if (submit) {
        var ok = el("button", "button dialog-ok", w.a_send);
        ok.type = "submit";
        row.appendChild(ok);
      }
      var cancel = el("button", "button dialog-cancel", w.a_cancel);
      cancel.type = "button";
      cancel.addEventListener("click", closeDialog);
      row.appendChild(cancel);
      form.appendChild(row);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var values = {};
        fields.forEach(function (f) {
          if (f.name) values[f.name] = form.elements[f.name].value.trim();
        });
        err.textContent = w.d_working;
        submit(values).then(
          function () {
            closeDialog();
            toast(w.d_done, "ok");
          },
          function (e) {
            err.textContent = fmt(w.refused, { reason: e.message });
          }
        );
      });
      dlg.appendChild(form);
      document.body.appendChild(dlg);
      dlg.showModal();
      var first = form.querySelector("input, textarea, select");
      if (first) first.focus();
    }

    function withNote(body, note) {
      if (note) body.note = note;
      return body;
    }

    function actOnAlert(action, id) {
      var w = cfg().i18n.words;
      var url = cfg().urls.alert + id + "/";
      if (action === "ack") return run("POST", url + "acknowledge", {});
      var options = [15, 30, 60, 120, 240].map(function (m) {
        return { value: String(m), label: agoMinutes(m) };
      });
      options.push({ value: "", label: w.d_until_clear });
      dialog(w.a_silence + " · " + subjectText(store.alerts.get(id) || { subject_kind: "system" }), [
        { name: "minutes", label: w.d_minutes, type: "select", options: options },
      ], function (v) {
        return request("POST", url + "silence", { minutes: v.minutes ? Number(v.minutes) : null });
      });
    }

    function actOnTps(action, code, phase) {
      // A commander's hand on a TPS: confirm the phase an unassigned officer claimed (the claim
      // as shown: the API answers 409 if it changed), or correct phase and situation with a reason.
      var i18n = cfg().i18n;
      var w = i18n.words;
      var url = cfg().urls.tps + encodeURIComponent(code) + "/";
      if (action === "confirm") return run("POST", url + "confirm-phase", { phase: phase });
      var t = store.tps.get(code);
      var option = function (names, k) {
        return { value: k, label: names[k] };
      };
      var phases = Object.keys(i18n.phases).filter(function (k) {
        return k !== "belum";
      });
      if (t && t.phase) {
        phases.sort(function (a, b) {
          return (b === t.phase) - (a === t.phase); // the current phase first
        });
      }
      var situations = Object.keys(i18n.situations).filter(function (k) {
        return k !== "belum";
      });
      dialog(w.a_correct + " · " + store.tpsLabel(code), [
        { name: "phase", label: w.d_phase, type: "select", options: phases.map(option.bind(null, i18n.phases)) },
        {
          name: "situation",
          label: w.d_situation,
          type: "select",
          options: [{ value: "", label: w.d_unchanged }].concat(situations.map(option.bind(null, i18n.situations))),
        },
        { name: "reason", label: w.d_reason, type: "textarea" },
      ], function (v) {
        var body = { phase: v.phase, reason: v.reason };
        if (v.situation) body.situation = v.situation;
        return request("POST", url + "correction", body);
      });
    }

    function agoMinutes(m) {
      // "30 mnt" / "2 jam": the ago words without "ago".
      var en = cfg().lang === "en";
      return m < 60 ? m + (en ? " min" : " mnt") : m / 60 + (en ? " h" : " jam");
    }

    function incidentTitle(inc) {
      var i18n = cfg().i18n;
      return (
        "#" + inc.id + " " + fmt(i18n.words.sev, { n: inc.severity }) + " " + i18n.categories[inc.category] +
        " · " + (inc.tps ? store.tpsLabel(inc.tps) : inc.kecamatan_code || "—")
      );
    }

    function stepText(s) {
      var i18n = cfg().i18n;
      var what = s.kind;
      if (s.kind === "status") what = (i18n.statuses[s.from_status] || "") + " → " + (i18n.statuses[s.to_status] || "");
      else if (s.kind === "dispatch") what = i18n.words.a_dispatch + " → " + assigneeText(s.data.assignee || "");
      else if (s.kind === "note") what = i18n.words.a_note;
      else if (s.kind === "merge") {
        what = i18n.words.a_merge + (s.data.into ? " → #" + s.data.into : " ← #" + (s.data.merged || []).join(", #"));
      } else if (s.kind === "split") {
        what = i18n.words.a_split + " #" + s.data.report_id + (s.data.to ? " → #" + s.data.to : " ← #" + s.data.from);
      }
      return text.hhmmss(ms(s.at)) + " " + i18n.words.wib + " · " + s.actor + " · " + what + (s.note ? " — " + s.note : "");
    }

    function reportText(r) {
      return (
        "NRP " + r.officer + " · " + hhmm(ms(r.device_time)) + " " + word("wib") + " · " +
        fmt(word("sev"), { n: r.severity }) + " · " + (r.description || "").slice(0, 80)
      );
    }

    function actOnIncident(action, id) {
      var w = cfg().i18n.words;
      var inc = store.incidents.get(id) || store.resolved.get(id);
      if (!inc) return;
      var url = cfg().urls.incident + id;
      var title = w["a_" + action] + " · " + incidentTitle(inc);
      if (action === "accept" || action === "resolve" || action === "close") {
        return run("POST", url + "/" + action, { version: inc.version });
      }
      if (action === "dispatch") {
        return dialog(title, [
          { name: "officer", label: w.d_officer },
          { name: "unit", label: w.d_unit },
          { name: "note", label: w.d_note, type: "textarea" },
        ], function (v) {
          var body = withNote({ version: inc.version }, v.note);
          if (v.officer) body.officer = v.officer;
          if (v.unit) body.unit = v.unit;
          return request("POST", url + "/dispatch", body);
        });
      }
      if (action === "note") {
        return dialog(title, [{ name: "text", label: w.d_text, type: "textarea" }], function (v) {
          return request("POST", url + "/notes", { text: v.text });
        });
      }
      if (action === "merge") {
        var others = Array.from(store.incidents.values()).filter(function (other) {
          return other.id !== id;
        });
        return dialog(title, [
          {
            name: "into",
            label: w.d_merge_into,
            type: "select",
            options: others.map(function (other) {
              return { value: String(other.id), label: incidentTitle(other) };
            }),
          },
          { name: "note", label: w.d_note, type: "textarea" },
        ], function (v) {
          var into = store.incidents.get(Number(v.into));
          if (!into) return Promise.reject(new Error("#" + v.into + "?"));
          return request("POST", cfg().urls.incident + into.id + "/merge", withNote({ version: into.version, others: [id] }, v.note));
        });
      }
      // split and history need the incident's reports and steps
      request("GET", url).then(function (detail) {
        if (action === "split") {
          dialog(title, [
            {
              name: "report",
              label: w.d_split_report,
              type: "select",
              options: detail.report_list.map(function (r) {
                return { value: String(r.id), label: reportText(r) };
              }),
            },
            { name: "note", label: w.d_note, type: "textarea" },
          ], function (v) {
            return request("POST", url + "/split", withNote({ version: detail.version, report_id: Number(v.report) }, v.note));
          });
        } else {
          dialog(title, [
            { type: "info", label: w.d_reports, lines: detail.report_list.map(reportText) },
            { type: "info", label: w.d_steps, lines: detail.steps.map(stepText) },
          ], null);
        }
      }, refused);
    }

    function onClick(ev) {
      var target = ev.target && ev.target.closest ? ev.target.closest("[data-act]") : null;
      if (!target) return;
      ev.preventDefault();
      var act = target.getAttribute("data-act");
      var kind = target.getAttribute("data-kind");
      if (kind === "tps") return actOnTps(act, target.getAttribute("data-id"), target.getAttribute("data-phase"));
      var id = Number(target.getAttribute("data-id"));
      if (kind === "alert") actOnAlert(act, id);
      else actOnIncident(act, id);
    }

    return {
      loadMe: loadMe,
      everySecond: everySecond,
      draw: draw,
      onClick: onClick,
      can: can,
      get me() {
        return me;
      },
    };
  }

  return { createOperations: createOperations };
});
