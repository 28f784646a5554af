// The screens. Built with DOM calls and textContent only (nothing from the server is ever
// parsed as HTML), from a plain `view` object that main.js makes from the app's state; what the
// officer does goes back through `actions`. Primary actions sit at the bottom, within a thumb's
// reach; every target is at least 48 px (app.css).

import {
  t,
  getLang,
  phaseName,
  situationName,
  categoryName,
  riskName,
  explain,
  enrolWords,
  PHASES,
  CATEGORY_WORDS,
} from "./i18n.js";
import { nextPhase, foldPhase, phaseOf, CUSTODY_STEPS, nextCustodyStep } from "./events.js";
import { MENUNGGU, TERKIRIM, DITERIMA, DITOLAK } from "./outbox.js";
import { durationWords, clockIsOff } from "./clock.js";

export const ROUTES = ["beranda", "kotak", "insiden", "sos", "kiriman", "status"];
const SITUATIONS = ["aman", "waspada", "gangguan"];

/** Make an element: h("button", {class: "x", on: {click}}, "text", child...). */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "disabled" || k === "hidden" || k === "selected") el[k] = true;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function locale() {
  return getLang() === "en" ? "en-GB" : "id-ID";
}

/** "08.14", or "26 Nov 08.14" when not today. */
export function timeWords(ms, now = Date.now()) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  const d = new Date(ms);
  const same = new Date(now).toDateString() === d.toDateString();
  const opts = same ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

function agoWords(ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return t("ago_s", { n: s });
  if (s < 3600) return t("ago_m", { n: Math.floor(s / 60) });
  return t("ago_h", { n: Math.floor(s / 3600) });
}

function tpsTitle(card) {
  return `${t("tps_number", { n: String(card.number).padStart(3, "0") })} · ${card.desa || ""}`;
}

function recordTitle(r, tpsNames) {
  const e = r.event;
  if (r.sos) return t("kind_sos");
  if (r.kind === "ping") {
    const name = tpsNames.get(e.tps) || e.tps;
    return t("kind_ping", { tps: name, phase: phaseName(e.phase), situation: situationName(e.situation) });
  }
  if (r.kind === "custody") {
    return t("kind_custody", { tps: tpsNames.get(e.tps) || e.tps, step: t("step_" + e.step) });
  }
  return t("kind_incident", { category: categoryName(e.category), severity: e.severity });
}

export function createUi({ doc, actions }) {
  const $ = (id) => doc.getElementById(id);
  const screen = $("screen");
  const nav = $("nav");
  const banner = $("banner");
  const toastEl = $("toast");
  const net = $("net");
  const who = $("who");
  const modal = $("modal");

  let route = "beranda";
  let view = null;
  let dirty = false;
  let toastTimer = null;
  const drafts = { notes: new Map(), situations: new Map() };
  const incident = { category: "kericuhan", severity: 2, where: null, description: "", photos: [], busy: false };
  const custody = { tps: null, step: null, seals: "", vehicle: "", escorts: "", ba: "", receiver: "", photos: [], busy: false };

  const navButtons = new Map();
  for (const r of ROUTES) {
    const b = h(
      "button",
      { class: `tab tab-${r}`, type: "button", dataset: { route: r }, on: { click: () => actions.go(r) } },
      h("span", { class: "tab-label", text: t("nav_" + navKey(r)) }),
      h("span", { class: "badge", hidden: true }),
    );
    navButtons.set(r, b);
    nav.append(b);
  }

  function navKey(r) {
    return { beranda: "home", kotak: "custody", insiden: "incident", sos: "sos", kiriman: "outbox", status: "status" }[r];
  }

  // Re-drawing a screen while the officer types, or under a finger mid-tap, would lose the
  // text, the caret or the tap (the button pressed would be replaced before its click): wait.
  let pressing = false;
  doc.addEventListener("pointerdown", () => (pressing = true), true);
  const released = () =>
    setTimeout(() => {
      pressing = false;
      if (dirty && !busy()) draw();
    }, 350);
  doc.addEventListener("pointerup", released, true);
  doc.addEventListener("pointercancel", released, true);
  screen.addEventListener("focusout", () => {
    setTimeout(() => {
      if (dirty && !busy()) draw();
    }, 350);
  });

  function typing() {
    const a = doc.activeElement;
    return !!a && screen.contains(a) && (a.tagName === "INPUT" || a.tagName === "TEXTAREA" || a.tagName === "SELECT");
  }

  function busy() {
    return pressing || typing();
  }

  function toast(text, kind = "info") {
    toastEl.textContent = text;
    toastEl.className = `toast toast-${kind}`;
    toastEl.hidden = false;
    toastEl.onclick = () => (toastEl.hidden = true);
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      toastEl.hidden = true;
    }, 4500);
  }

  /** A modal question with two big answers; resolves true for yes. */
  function confirm({ title, text, yes, no = t("cancel"), danger = false }) {
    return new Promise((resolve) => {
      const done = (answer) => {
        modal.hidden = true;
        modal.replaceChildren();
        resolve(answer);
      };
      modal.replaceChildren(
        h(
          "div",
          { class: "modal-box", role: "dialog", "aria-modal": "true", "aria-labelledby": "modal-title" },
          h("h2", { id: "modal-title", text: title }),
          text ? h("p", { text }) : null,
          h(
            "div",
            { class: "modal-actions" },
            h("button", { type: "button", class: "btn secondary", on: { click: () => done(false) } }, no),
            h("button", { type: "button", class: `btn ${danger ? "danger" : "primary"}`, id: "modal-yes", on: { click: () => done(true) } }, yes),
          ),
        ),
      );
      modal.hidden = false;
      modal.querySelector("#modal-yes").focus();
    });
  }

  // ---- chrome: header, banner, nav ---------------------------------------------------------

  function chrome() {
    const v = view;
    doc.documentElement.lang = getLang();
    who.textContent = v.officer ? `${v.officer.rank || ""} ${v.officer.name}`.trim() : t("app_name");
    let netClass = v.online ? "net on" : "net off";
    let netText = v.online ? t("online") : t("offline");
    if (v.revoked) {
      netClass = "net bad";
      netText = t("st_revoked_short");
    } else if (v.unsent > 0 && v.online) {
      netClass = "net busy";
      netText = t("state_sending");
    }
    net.className = netClass;
    net.textContent = netText;

    const sos = v.records.filter((r) => r.sos && (r.state === MENUNGGU || r.state === TERKIRIM));
    banner.replaceChildren();
    if (v.revoked) {
      banner.append(h("strong", { text: t("revoked_banner") }), h("span", { text: " " + t("revoked_more") }));
      banner.className = "banner banner-bad";
      banner.hidden = false;
    } else if (sos.length) {
      banner.append(h("strong", { text: t("sos_waiting") }));
      banner.className = "banner banner-sos";
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }

    const enrolledScreens = v.enrolled || v.records.length > 0;
    nav.hidden = route === "daftar" || !enrolledScreens;
    for (const [r, b] of navButtons) {
      b.querySelector(".tab-label").textContent = t("nav_" + navKey(r));
      if (r === route) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    }
    const badge = navButtons.get("kiriman").querySelector(".badge");
    const count = v.counts[MENUNGGU] + v.counts[TERKIRIM] + v.counts[DITOLAK];
    badge.textContent = String(count);
    badge.hidden = count === 0;
    badge.classList.toggle("badge-bad", v.counts[DITOLAK] > 0);
  }

  // ---- Home --------------------------------------------------------------------------------

  function myLaterPhases(v, code) {
    const since = v.home ? v.home.fetchedAt : 0;
    return v.records
      .filter((r) => (r.kind === "ping" || r.kind === "custody") && r.event.tps === code && r.state !== DITOLAK)
      .filter((r) => r.state === MENUNGGU || r.state === TERKIRIM || r.created_at > since)
      .map(phaseOf);
  }

  function queuedPhase(v, code) {
    const mine = v.records.filter(
      (r) => r.kind === "ping" && r.event.tps === code && (r.state === MENUNGGU || r.state === TERKIRIM),
    );
    return mine.length ? mine[mine.length - 1].event.phase : null;
  }

  function tpsCard(v, card) {
    const code = card.code;
    const phase = foldPhase(card.phase, myLaterPhases(v, code));
    const next = nextPhase(phase, card.expected_phase);
    const chosen = drafts.situations.get(code) || card.situation || "aman";
    const noteInput = h("input", {
      class: "note",
      type: "text",
      maxlength: "500",
      placeholder: t("note_placeholder"),
      "aria-label": t("note_placeholder"),
      value: drafts.notes.get(code) || "",
      on: { input: (e) => drafts.notes.set(code, e.target.value) },
    });
    const send = async (p) => {
      for (const b of cardEl.querySelectorAll("button, select")) b.disabled = true; // one tap, one report
      const ok = await actions.ping({
        tps: code,
        phase: p,
        situation: drafts.situations.get(code) || card.situation || "aman",
        note: drafts.notes.get(code) || "",
      });
      if (ok) drafts.notes.delete(code);
      draw();
    };
    const seg = h(
      "div",
      { class: "seg", role: "radiogroup", "aria-label": t("last_report", { phase: "", situation: "" }) },
      SITUATIONS.map((s) =>
        h(
          "button",
          {
            type: "button",
            role: "radio",
            class: `seg-btn sit-${s}`,
            "aria-checked": s === chosen ? "true" : "false",
            on: {
              click: () => {
                drafts.situations.set(code, s);
                for (const b of seg.children) b.setAttribute("aria-checked", b.classList.contains(`sit-${s}`) ? "true" : "false");
              },
            },
          },
          situationName(s),
        ),
      ),
    );
    const other = h(
      "select",
      {
        class: "other-phase",
        "aria-label": t("other_phase"),
        on: {
          change: async (e) => {
            const p = e.target.value;
            e.target.value = "";
            if (!p) return;
            const yes = await confirm({ title: `${tpsTitle(card)}`, text: `→ ${phaseName(p)}`, yes: t("send_report") });
            if (yes) send(p);
          },
        },
      },
      h("option", { value: "", text: t("other_phase") }),
      [...PHASES, "ditunda"].map((p) => h("option", { value: p, text: phaseName(p) })),
    );
    const queued = queuedPhase(v, code);
    const last = card.last_seen_at ? Date.parse(card.last_seen_at) : null;
    const cardEl = h(
      "section",
      { class: `card risk-${card.risk || "none"}${card.is_assigned === false ? " unassigned" : ""}`, dataset: { tps: code } },
      h(
        "div",
        { class: "card-head" },
        h("h3", { text: tpsTitle(card) }),
        card.risk && card.risk !== "kurang_rawan" ? h("span", { class: `risk risk-${card.risk}`, text: riskName(card.risk) }) : null,
      ),
      h("p", { class: "code", text: `${code}${card.kecamatan ? " · " + card.kecamatan : ""}` }),
      card.is_assigned === false ? h("p", { class: "warn", text: t("not_assigned") }) : null,
      h(
        "p",
        { class: `last sit-text-${card.situation || "belum"}` },
        card.phase ? t("last_report", { phase: phaseName(card.phase), situation: situationName(card.situation) }) : t("never_reported"),
      ),
      last ? h("p", { class: "muted", text: t("last_by", { time: timeWords(last), who: card.last_officer || "–" }) }) : null,
      card.expected_phase ? h("p", { class: "expected", text: t("expected_now", { phase: phaseName(card.expected_phase) }) }) : null,
      queued ? h("p", { class: "queued", text: t("my_queued", { phase: phaseName(queued) }) }) : null,
      seg,
      noteInput,
      h(
        "div",
        { class: "row" },
        h("button", { type: "button", class: "btn secondary", on: { click: () => send(phase || next || PHASES[0]) } }, t("send_situation")),
        other,
      ),
      next
        ? h("button", { type: "button", class: "btn primary big next", on: { click: () => send(next) } }, t("next_phase", { phase: phaseName(next) }))
        : h("p", { class: "done", text: t("all_phases_done") }),
    );
    return cardEl;
  }

  function renderHome(v) {
    const parts = [h("h2", { text: t("home_title") })];
    const cards = v.home ? v.home.tps.filter((c) => c.is_assigned !== false) : [];
    if (!v.home) parts.push(h("p", { class: "notice", text: t("home_not_loaded") }));
    else {
      if (v.home.stale) parts.push(h("p", { class: "muted", text: t("home_cached", { time: timeWords(v.home.fetchedAt) }) }));
      if (!cards.length) parts.push(h("p", { class: "notice", text: t("home_none") }));
    }
    for (const c of cards) parts.push(tpsCard(v, c));

    const q = h("input", {
      type: "search",
      id: "search-q",
      placeholder: t("search_placeholder"),
      "aria-label": t("search_title"),
      value: v.search.q || "",
      enterkeyhint: "search",
    });
    const form = h(
      "form",
      {
        class: "search",
        on: {
          submit: (e) => {
            e.preventDefault();
            q.blur();
            actions.search(q.value.trim());
          },
        },
      },
      h("h2", { text: t("search_title") }),
      h("div", { class: "row" }, q, h("button", { type: "submit", class: "btn secondary" }, t("search_button"))),
    );
    parts.push(form);
    const s = v.search;
    if (s.state === "offline") parts.push(h("p", { class: "notice", text: t("search_offline") }));
    else if (s.state === "failed") parts.push(h("p", { class: "notice", text: t("search_failed") }));
    else if (s.state === "done" && !s.results.length) parts.push(h("p", { class: "notice", text: t("search_none") }));
    for (const c of s.results || []) parts.push(tpsCard(v, c));
    return parts;
  }

  // ---- Incident ----------------------------------------------------------------------------

  function whereOptions(v) {
    const seen = new Set();
    const opts = [];
    for (const c of [...(v.home ? v.home.tps : []), ...(v.search.results || [])]) {
      if (seen.has(c.code)) continue;
      seen.add(c.code);
      opts.push({ value: c.code, label: `${tpsTitle(c)} (${c.code})` });
    }
    opts.push({ value: "here", label: t("where_here") });
    return opts;
  }

  /** A form's photos (`holder.photos`, `holder.busy`): thumbnails to remove, add up to `max`. */
  function photoPicker(holder, max, inputId) {
    const photoList = h("div", { class: "photos" });
    const drawPhotos = () => {
      photoList.replaceChildren(
        ...holder.photos.map((p, i) =>
          h(
            "figure",
            { class: "thumb" },
            h("img", { src: p.url, alt: `${t("photos")} ${i + 1}` }),
            h(
              "button",
              {
                type: "button",
                class: "btn secondary small",
                "aria-label": t("remove_photo"),
                on: {
                  click: () => {
                    URL.revokeObjectURL(p.url);
                    holder.photos.splice(i, 1);
                    drawPhotos();
                  },
                },
              },
              "✕",
            ),
          ),
        ),
      );
      if (holder.busy) photoList.append(h("p", { class: "muted", text: t("photo_working") }));
      if (holder.photos.length < max && !holder.busy) {
        const input = h("input", {
          type: "file",
          accept: "image/*",
          class: "visually-hidden",
          id: inputId,
          on: {
            change: async (e) => {
              const file = e.target.files && e.target.files[0];
              if (!file) return;
              holder.busy = true;
              drawPhotos();
              const shrunk = await actions.shrinkPhoto(file);
              holder.busy = false;
              if (shrunk) holder.photos.push({ ...shrunk, url: URL.createObjectURL(shrunk.blob) });
              else toast(t("photo_failed"), "bad");
              // The screen may have been drawn anew while the photo shrank: then draw it again.
              if (photoList.isConnected) drawPhotos();
              else draw();
            },
          },
        });
        photoList.append(h("label", { class: "btn secondary add-photo", for: inputId }, t("add_photo")), input);
      }
    };
    drawPhotos();
    return photoList;
  }

  function renderIncident(v) {
    const opts = whereOptions(v);
    if (!incident.where || !opts.some((o) => o.value === incident.where)) incident.where = opts[0].value;
    const photoList = photoPicker(incident, 3, "photo-input");
    const error = h("p", { class: "form-error", role: "alert" });
    const sevs = [1, 2, 3, 4].map((n) =>
      h(
        "label",
        { class: `sev sev-${n}` },
        h("input", {
          type: "radio",
          name: "severity",
          value: String(n),
          checked: incident.severity === n,
          on: { change: () => (incident.severity = n) },
        }),
        h("span", { text: t("sev_" + n) }),
      ),
    );
    const submit = async (e) => {
      e.preventDefault();
      if (!incident.description.trim()) {
        error.textContent = t("need_description");
        return;
      }
      error.textContent = "";
      const ok = await actions.incident({
        category: incident.category,
        severity: incident.severity,
        tps: incident.where === "here" ? null : incident.where,
        description: incident.description,
        photos: incident.photos.map((p) => p.blob),
      });
      if (ok === "no-location") {
        error.textContent = t("need_where");
        return;
      }
      if (ok) {
        for (const p of incident.photos) URL.revokeObjectURL(p.url);
        Object.assign(incident, { description: "", photos: [], severity: 2 });
        actions.go("kiriman");
      }
    };
    return [
      h(
        "form",
        { class: "incident", on: { submit } },
        h("h2", { text: t("incident_title") }),
        h(
          "label",
          { class: "field" },
          h("span", { text: t("category") }),
          h(
            "select",
            { name: "category", on: { change: (e) => (incident.category = e.target.value) } },
            Object.keys(CATEGORY_WORDS).map((c) => h("option", { value: c, selected: c === incident.category, text: categoryName(c) })),
          ),
        ),
        h("fieldset", { class: "field sevs" }, h("legend", { text: t("severity") }), sevs),
        h(
          "label",
          { class: "field" },
          h("span", { text: t("where") }),
          h(
            "select",
            { name: "where", on: { change: (e) => (incident.where = e.target.value) } },
            opts.map((o) => h("option", { value: o.value, selected: o.value === incident.where, text: o.label })),
          ),
        ),
        h(
          "label",
          { class: "field" },
          h("span", { text: t("description") }),
          h("textarea", {
            name: "description",
            rows: "4",
            maxlength: "2000",
            placeholder: t("description_placeholder"),
            value: incident.description,
            on: { input: (e) => (incident.description = e.target.value) },
          }),
        ),
        h("div", { class: "field" }, h("span", { class: "label", text: t("photos") }), photoList),
        error,
        h("button", { type: "submit", class: "btn primary big sticky" }, t("send_report")),
      ),
    ];
  }

  // ---- Ballot boxes to the PPK (custody) ---------------------------------------------------

  function renderCustody(v) {
    const opts = whereOptions(v).filter((o) => o.value !== "here");
    if (!opts.length) return [h("h2", { text: t("custody_title") }), h("p", { class: "muted", text: t("home_none") })];
    if (!custody.tps || !opts.some((o) => o.value === custody.tps)) custody.tps = opts[0].value;
    const done = v.records.filter((r) => r.kind === "custody" && r.event.tps === custody.tps && r.state !== DITOLAK).map((r) => r.event.step);
    if (!custody.step) custody.step = nextCustodyStep(done) || "serah_terima";
    const error = h("p", { class: "form-error", role: "alert" });
    const input = (key, label, extra = {}) =>
      h(
        "label",
        { class: "field" },
        h("span", { text: t(label) }),
        h("input", { name: key, value: custody[key], autocomplete: "off", ...extra, on: { input: (e) => (custody[key] = e.target.value) } }),
      );
    const fields = {
      segel: [
        input("seals", "custody_seals", { maxlength: "2000" }),
        h("div", { class: "field" }, h("span", { class: "label", text: t("custody_seal_photo") }), photoPicker(custody, 1, "seal-photo-input")),
      ],
      berangkat: [input("vehicle", "custody_vehicle", { maxlength: "80" }), input("escorts", "custody_escorts", { inputmode: "numeric" })],
      tiba: [],
      serah_terima: [input("ba", "custody_ba", { maxlength: "80" }), input("receiver", "custody_receiver", { maxlength: "120" })],
    }[custody.step];
    const steps = CUSTODY_STEPS.map((s) =>
      h(
        "label",
        { class: `sev step step-${s}` },
        h("input", {
          type: "radio",
          name: "step",
          value: s,
          checked: custody.step === s,
          on: {
            change: () => {
              custody.step = s;
              draw();
            },
          },
        }),
        h("span", { text: t("step_" + s) }),
      ),
    );
    const submit = async (e) => {
      e.preventDefault();
      if (custody.step === "segel" && !custody.seals.trim()) {
        error.textContent = t("custody_need_seals");
        return;
      }
      if (custody.step === "serah_terima") {
        if (!custody.receiver.trim()) {
          error.textContent = t("custody_need_receiver");
          return;
        }
        if (!custody.ba.trim() && !(await confirm({ title: t("step_serah_terima"), text: t("custody_no_ba"), yes: t("custody_send") }))) return;
      }
      error.textContent = "";
      const ok = await actions.custody({
        tps: custody.tps,
        step: custody.step,
        seals: custody.seals,
        vehicle: custody.vehicle,
        escorts: custody.escorts,
        baNumber: custody.ba,
        receiver: custody.receiver,
        photos: custody.step === "segel" ? custody.photos.map((p) => p.blob) : [],
      });
      if (ok) {
        for (const p of custody.photos) URL.revokeObjectURL(p.url);
        Object.assign(custody, { step: null, seals: "", ba: "", receiver: "", photos: [] });
        actions.go("kiriman");
      }
    };
    return [
      h(
        "form",
        { class: "custody", on: { submit } },
        h("h2", { text: t("custody_title") }),
        h(
          "label",
          { class: "field" },
          h("span", { text: t("custody_tps") }),
          h(
            "select",
            {
              name: "tps",
              on: {
                change: (e) => {
                  custody.tps = e.target.value;
                  custody.step = null;
                  draw();
                },
              },
            },
            opts.map((o) => h("option", { value: o.value, selected: o.value === custody.tps, text: o.label })),
          ),
        ),
        done.length ? h("p", { class: "muted custody-done", text: t("custody_done", { steps: done.map((s) => t("step_" + s)).join(", ") }) }) : null,
        h("fieldset", { class: "field sevs steps" }, h("legend", { text: t("custody_step") }), steps),
        fields,
        error,
        h("button", { type: "submit", class: "btn primary big sticky" }, t("custody_send")),
      ),
    ];
  }

  // ---- SOS ---------------------------------------------------------------------------------

  function renderSos(v) {
    const mine = v.records.filter((r) => r.sos).slice(-3).reverse();
    return [
      h("h2", { class: "sos-title", text: t("sos_title") }),
      h("p", { class: "lead", text: t("sos_explain") }),
      mine.map((r) =>
        h(
          "p",
          { class: `sos-state state-${r.state}` },
          r.state === DITERIMA ? t("sos_received", { time: timeWords(r.done_at) }) : `${t("st_" + r.state)} · ${t("made_at", { time: timeWords(r.created_at) })}`,
        ),
      ),
      h(
        "div",
        { class: "sos-wrap" },
        h(
          "button",
          {
            type: "button",
            class: "sos-button",
            id: "sos-button",
            on: {
              click: async () => {
                const yes = await confirm({ title: t("sos_confirm"), text: t("sos_confirm_text"), yes: t("sos_yes"), danger: true });
                if (yes) await actions.sos();
              },
            },
          },
          t("sos_button"),
        ),
      ),
    ];
  }

  // ---- Outbox ------------------------------------------------------------------------------

  function renderOutbox(v) {
    const names = new Map();
    for (const c of [...(v.home ? v.home.tps : []), ...(v.search.results || [])]) names.set(c.code, tpsTitle(c));
    const list = v.records.slice().reverse();
    const items = list.map((r) => {
      const orphan = r.state === MENUNGGU && r.nrp && v.nrp && r.nrp !== v.nrp;
      const err = r.state === DITOLAK ? explain(r.error) : null;
      const when =
        r.state === DITERIMA ? t("done_at", { time: timeWords(r.done_at) }) : r.state === DITOLAK ? t("rejected_at", { time: timeWords(r.done_at) }) : "";
      return h(
        "li",
        { class: `report state-${r.state}${r.sos ? " sos" : ""}`, dataset: { id: r.event_id } },
        h("div", { class: "report-head" }, h("span", { class: `chip chip-${r.state}`, text: t("st_" + r.state) }), h("strong", { text: recordTitle(r, names) })),
        h("p", { class: "muted", text: [t("made_at", { time: timeWords(Date.parse(r.event.device_time) || r.created_at) }), when].filter(Boolean).join(" · ") }),
        r.kind === "incident" && r.event.description && !r.sos ? h("p", { class: "desc", text: r.event.description }) : null,
        r.kind === "ping" && r.event.note ? h("p", { class: "desc", text: t("note_label", { note: r.event.note }) }) : null,
        r.flags && r.flags.length ? h("p", { class: "muted", text: r.flags.map((f) => t("flag_" + f)).join(" · ") }) : null,
        r.photos && r.photos.length
          ? h("p", { class: "muted", text: r.photos.map((p) => t("photo_state", { n: p.index + 1, state: t("st_" + p.state) })).join(" · ") })
          : null,
        r.photos ? r.photos.filter((p) => p.state === DITOLAK).map((p) => h("p", { class: "reason", text: `${explain(p.error).text} ${explain(p.error).todo}` })) : null,
        err ? h("p", { class: "reason", text: err.text }) : null,
        err ? h("p", { class: "todo", text: t("what_to_do", { todo: err.todo }) }) : null,
        orphan ? h("p", { class: "reason", text: t("other_officer", { nrp: r.nrp }) }) : null,
        r.state === DITOLAK || orphan
          ? h("button", { type: "button", class: "btn secondary", on: { click: () => actions.dismiss(r.event_id) } }, t("dismiss"))
          : null,
      );
    });
    return [
      h("h2", { text: t("outbox_title") }),
      h("p", { class: "counts", text: t("outbox_counts", { menunggu: v.counts[MENUNGGU] + v.counts[TERKIRIM], ditolak: v.counts[DITOLAK], diterima: v.counts[DITERIMA] }) }),
      items.length ? h("ul", { class: "reports" }, items) : h("p", { class: "notice", text: t("outbox_empty") }),
      h(
        "div",
        { class: "row bottom" },
        v.counts[DITERIMA] ? h("button", { type: "button", class: "btn secondary", on: { click: () => actions.clearHistory() } }, t("clear_history")) : null,
        h("button", { type: "button", class: "btn primary", on: { click: () => actions.sendNow() } }, t("send_now")),
      ),
    ];
  }

  // ---- Status ------------------------------------------------------------------------------

  function row(label, value, cls = "") {
    return [h("dt", { text: label }), h("dd", { class: cls, text: value })];
  }

  function renderStatus(v) {
    const now = Date.now();
    let clockText = t("st_clock_unknown");
    let clockClass = "";
    if (v.clock && v.clock.exercise) {
      clockText = t("st_clock_exercise", { time: timeWords(v.clock.server + (now - v.clock.local) * v.clock.speed, now) });
    } else if (v.clock) {
      const d = durationWords(v.clock.offset, getLang());
      const rel = Math.abs(v.clock.offset) < 1000 ? d : v.clock.offset > 0 ? t("behind", { d }) : t("ahead", { d });
      if (clockIsOff(v.clock)) {
        clockText = t("st_clock_bad", { offset: rel });
        clockClass = "bad";
      } else clockText = t("st_clock_ok", { offset: rel });
    }
    const o = v.officer;
    return [
      h("h2", { text: t("status_title") }),
      h(
        "dl",
        { class: "status" },
        row(t("st_network"), v.online ? t("online") : t("offline"), v.online ? "good" : "bad"),
        row(t("st_last_reached"), v.lastReachedAt ? `${timeWords(v.lastReachedAt)} (${agoWords(v.lastReachedAt, now)})` : t("st_never")),
        row(t("st_sending"), `${t("state_" + v.senderState)} · ${v.unsent ? t("st_unsent", { n: v.unsent }) : t("st_all_sent")}`, v.revoked ? "bad" : ""),
        row(t("st_clock"), clockText, clockClass),
        v.clock && v.clock.exercise ? row(t("st_exercise"), v.clock.exercise) : null,
        row(t("st_officer"), o ? `${o.rank || ""} ${o.name} · NRP ${o.nrp} · ${o.unit_name || o.unit_code || ""}`.trim() : t("st_not_enrolled")),
        row(t("st_storage"), v.persisted ? t("st_persisted") : t("st_not_persisted")),
        row(t("st_version"), v.version),
      ),
      h(
        "div",
        { class: "row" },
        ["id", "en"].map((l) =>
          h(
            "button",
            { type: "button", class: `btn secondary${getLang() === l ? " active" : ""}`, "aria-pressed": getLang() === l ? "true" : "false", on: { click: () => actions.setLang(l) } },
            l === "id" ? "Bahasa Indonesia" : "English",
          ),
        ),
      ),
      h("button", { type: "button", class: "btn primary big", on: { click: () => actions.refresh() } }, t("refresh")),
    ];
  }

  // ---- Enrolment ---------------------------------------------------------------------------

  function renderEnrol(v) {
    const e = v.enrol || { state: "none" };
    if (e.state === "working") return [h("h2", { text: t("enrol_title") }), h("p", { class: "lead", text: t("enrol_working") })];
    if (e.state === "ok") {
      const o = e.officer || {};
      return [
        h("h2", { class: "good", text: t("enrol_ok") }),
        h("p", { class: "lead", text: t("enrol_ok_text", { who: `${o.rank || ""} ${o.name || ""} (NRP ${o.nrp || "–"}, ${o.unit_name || ""})` }) }),
        e.others ? h("p", { class: "notice", text: t("enrol_other_officer", { n: e.others }) }) : null,
        h("button", { type: "button", class: "btn primary big fixed-bottom", on: { click: () => actions.go("beranda") } }, t("enrol_start")),
      ];
    }
    if (e.state === "failed") {
      return [
        h("h2", { class: "bad", text: t("enrol_failed") }),
        h("p", { class: "lead", id: "enrol-reason", dataset: { code: e.code }, text: enrolWords(e.code) }),
        v.enrolled ? h("button", { type: "button", class: "btn primary big fixed-bottom", on: { click: () => actions.go("beranda") } }, t("enrol_start")) : null,
      ];
    }
    return [h("h2", { text: t("not_enrolled_title") }), h("p", { class: "lead", text: t("not_enrolled_text") })];
  }

  // ---- drawing -----------------------------------------------------------------------------

  const RENDER = { beranda: renderHome, kotak: renderCustody, insiden: renderIncident, sos: renderSos, kiriman: renderOutbox, status: renderStatus, daftar: renderEnrol };

  function draw() {
    dirty = false;
    const scrollY = globalThis.scrollY || 0;
    const r = !view.enrolled && !view.records.length && route !== "daftar" ? "daftar" : route;
    screen.dataset.screen = r;
    screen.replaceChildren(...RENDER[r](view).flat(Infinity).filter((x) => x !== null && x !== undefined && x !== false));
    globalThis.scrollTo && globalThis.scrollTo(0, scrollY);
  }

  return {
    /** Show a screen (from navigation). */
    show(r, v) {
      route = r;
      view = v;
      chrome();
      draw();
      globalThis.scrollTo && globalThis.scrollTo(0, 0);
    },
    /** The state changed: refresh what shows it, never under the officer's fingers. */
    update(v) {
      view = v;
      chrome();
      if (route === "insiden") return; // its form keeps its own state; nothing there changes
      if (route === "kotak" && busy()) return (dirty = true);
      if (busy()) dirty = true;
      else draw();
    },
    toast,
    confirm,
    get route() {
      return route;
    },
  };
}
