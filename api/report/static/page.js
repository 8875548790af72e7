// The report page: reads the JSON block, writes every text in the chosen language, draws the skeleton,
// the timeline and the sEMG envelopes on one clock. Hand-written, no libraries, nothing fetched.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  let lang = data.lang;
  let now = 0;
  let playing = false;
  const $ = (id) => document.getElementById(id);
  // The page's own words and the phase names come from the graph, in every language, with the data.
  const t = (key, fields = {}) => (data.languages[lang].words[key] ?? key)
    .replace(/\{(\w+)\}/g, (_, name) => String(fields[name]));
  const phaseName = (phase) => data.languages[lang].phases[phase] ?? phase;
  const sideName = (side) => data.languages[lang].sides[side] ?? side;
  const stepNames = () => Object.fromEntries(data.languages[lang].graph.map((row) => [row.keyStep, row.keyStepLabel]));
  const el = (tag, attrs, ...kids) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v; else if (v !== null && v !== undefined) node.setAttribute(k, v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
    return node;
  };
  const fmt = (x, digits = 1) => Number(x).toFixed(digits);
  const A = () => data.languages[lang].assessment;
  const ruleHref = (source) => {
    const file = source.replace(/:\d+$/, "");
    return (data.rule_base ?? data.ontology_uri) + file.split("/").map(encodeURIComponent).join("/");
  };
  const ruleLink = (source) => el("a", { href: ruleHref(source), text: source });

  // ---------------------------------------------------------------- texts
  function renderTexts() {
    const a = A();
    document.documentElement.lang = lang;
    document.title = `${a.action_label} - ${fmt(a.score)} / 100`;
    $("title").textContent = a.action_label;
    for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
    for (const node of document.querySelectorAll("[data-phase]")) node.textContent = phaseName(node.dataset.phase);
    $("score").textContent = fmt(a.score);
    $("interval").textContent = t("interval", { low: fmt(a.score_low), high: fmt(a.score_high), worst: a.worst_repetition });
    $("summary").textContent = a.summary;
    $("notes").replaceChildren(...(a.notes || []).map((n) => el("li", { text: n })));
    $("play").textContent = playing ? t("pause") : t("play");
    renderCues(a);
    renderLosses(a);
    renderReps(a);
    renderGraph(a);
    renderTimeline(a);
    $("footer").textContent = t("kg", { version: a.kg_version, detectors: a.detectors });
    for (const c of document.querySelectorAll(".views canvas")) c.setAttribute("aria-label", t("canvas", { view: t(c.dataset.view) }));
    showTime(now);
  }

  function renderCues(a) {
    const items = a.coaching.map((cue) => el("li", {},
      el("strong", { text: cue.text }), " ",
      el("span", { class: "pts", text: `(${fmt(cue.points_lost, 2)} ${t("points")})` }),
      cue.explanation ? el("details", {}, el("summary", { text: t("why") }), el("p", { text: cue.explanation })) : null,
      el("div", { class: "muted" }, `${t("rule")}: `, ...cue.rules.flatMap((r, i) => (i ? [", ", ruleLink(r)] : [ruleLink(r)])))));
    $("cues").replaceChildren(...(items.length ? items : [el("li", { text: t("clean") })]));
  }

  function lossTable(id, caption, head, totals) {
    const rows = Object.entries(totals).sort((x, y) => y[1] - x[1]);
    $(id).replaceChildren(el("caption", { text: caption }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: head }), el("th", { scope: "col", text: t("points") }))),
      el("tbody", {}, ...(rows.length ? rows : [["-", 0]]).map(([k, v]) =>
        el("tr", {}, el("th", { scope: "row", text: k }), el("td", { class: "num", text: fmt(v, 2) })))));
  }

  function renderLosses(a) {
    const n = a.repetitions.length;
    const phase = {}, step = {}, names = stepNames();
    for (const r of a.repetitions) {
      for (const [k, v] of Object.entries(r.points_lost_by_phase)) phase[phaseName(k)] = (phase[phaseName(k)] || 0) + v / n;
      for (const [k, v] of Object.entries(r.points_lost_by_key_step)) step[names[k] ?? k] = (step[names[k] ?? k] || 0) + v / n;
    }
    lossTable("by-phase", t("byPhase"), t("phase"), phase);
    lossTable("by-step", t("byStep"), t("step"), step);
  }

  function renderReps(a) {
    const body = el("tbody");
    for (const r of a.repetitions) {
      const faults = r.errors.length ? el("ul", {}, ...r.errors.map((e) => el("li", {},
        `${e.label} (${e.key_step_label}${e.side ? ", " + sideName(e.side) : ""}; ${fmt(e.time_span[0], 2)}-${fmt(e.time_span[1], 2)} s; `
        + `-${fmt(e.points_lost, 2)} ${t("points")}`
        + (e.source === "model" ? `; ${t("seenByModel", { probability: fmt(e.probability, 2) })}) ` : ") "),
        ruleLink(e.rule_source))))
        : el("span", { class: "muted", text: t("noFaults") });
      body.append(el("tr", {}, el("th", { scope: "row", text: String(r.index) }),
        el("td", { text: `${fmt(r.time_span[0], 2)}-${fmt(r.time_span[1], 2)} s` }),
        el("td", { class: "num", text: fmt(r.score) }), el("td", {}, faults)));
    }
    const head = el("tr", {}, ...[t("rep"), t("span"), t("score"), t("errors")].map((h) => el("th", { scope: "col", text: h })));
    $("reps").replaceChildren(el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, head), body)));
  }

  function renderGraph(a) {
    const found = new Set(a.repetitions.flatMap((r) => r.errors.map((e) => e.rule)));
    const steps = new Map();
    for (const row of data.languages[lang].graph) {
      if (!steps.has(row.keyStep)) steps.set(row.keyStep, { row, errors: [] });
      if (row.rule) steps.get(row.keyStep).errors.push(row);
    }
    const stepItems = [...steps.values()].map(({ row, errors }) => el("li", {},
      el("span", { class: "node step", text: `${row.keyStepLabel}` }), el("span", { class: "tag muted", text: phaseName(row.phase) }),
      errors.length ? el("ul", {}, ...errors.map((e) => {
        const hit = found.has(e.rule);
        return el("li", {}, el("span", { class: "node" + (hit ? " found" : ""), text: e.errorLabel }),
          el("span", { class: "tag" + (hit ? "" : " muted"), text: hit ? t("found") : `${t("weight")} ${e.weight}` }),
          el("ul", {}, el("li", {}, el("span", { class: "node cue", text: e.cue }))));
      })) : null));
    $("fkg").replaceChildren(el("ul", {}, el("li", {}, el("span", { class: "node action", text: a.action_label }),
      el("ul", {}, ...stepItems))));
  }

  // ---------------------------------------------------------------- timeline
  const pct = (s) => `${(100 * s) / data.duration}%`;
  function place(node, start, end) {
    node.style.left = pct(start);
    node.style.width = `max(2px, ${pct(end - start)})`;
    return node;
  }
  // A lane for the repetitions, one per key step and one per fault found: each name sits beside its lane, where
  // it can wrap, so a key step lasting two frames reads as well as a long one and overlapping steps never hide.
  function lane(name, bars) {
    return [el("div", { class: "tl-label", text: name }), el("div", { class: "tl-track" }, ...bars)];
  }
  function renderTimeline(a) {
    const names = stepNames();
    const rank = (k) => (k in names ? Object.keys(names).indexOf(k) : Infinity);  // the graph's order
    const keys = [...new Set(data.steps.map((s) => s.key_step))].sort((x, y) => rank(x) - rank(y));
    const steps = keys.map((k) => lane(names[k] ?? k,
      data.steps.filter((s) => s.key_step === k).map((s) => place(el("span", { class: `tl-step ${s.phase}`,
        title: `${names[k] ?? k} (${phaseName(s.phase)}), ${t("rep")} ${s.repetition}` }), s.start, s.end))));
    const faults = new Map();
    for (const r of a.repetitions) for (const e of r.errors) {
      if (!faults.has(e.rule)) faults.set(e.rule, { label: e.label, bars: [] });
      const b = place(el("button", { type: "button", class: "tl-err", title: e.label,
        "aria-label": `${e.label}, ${t("rep")} ${r.index}, ${fmt(e.time_span[0], 2)} s` }), e.time_span[0], e.time_span[1]);
      b.addEventListener("click", () => seek(e.time_span[0]));
      faults.get(e.rule).bars.push(b);
    }
    const lanes = [lane(t("rep"), a.repetitions.map((r) => place(el("span", { class: "tl-rep", text: String(r.index),
      title: `${t("rep")} ${r.index}: ${fmt(r.score)}` }), r.time_span[0], r.time_span[1]))),
      ...steps, ...[...faults.values()].map((f) => lane(f.label, f.bars))];
    const cursor = el("div", { class: "tl-cursor-lane" }, el("div", { class: "tl-cursor", id: "cursor" }));
    cursor.style.gridRow = `1 / span ${lanes.length}`;
    lanes.forEach((cells, row) => { for (const cell of cells) cell.style.gridRow = String(row + 1); });
    $("timeline").replaceChildren(...lanes.flat(), cursor);
    fitBars();
  }
  // A repetition's number shows in its bar only where it fits (its title still names it).
  function fitBars() {
    for (const bar of document.querySelectorAll(".tl-rep")) {
      bar.textContent = bar.dataset.text ?? (bar.dataset.text = bar.textContent);
      if (bar.scrollWidth > bar.clientWidth) bar.textContent = "";
    }
  }

  // ---------------------------------------------------------------- skeleton
  const views = [];
  function setupViews() {
    const box = $("views");
    if (!data.skeleton) { box.append(el("p", { class: "muted", "data-t": "noSkeleton" })); return; }
    for (const p of data.skeleton.projections) {
      const canvas = el("canvas", { role: "img", "data-view": p.name, id: `view-${p.name}` });
      box.append(el("figure", {}, canvas, el("figcaption", { "data-t": p.name })));
      let lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
      for (const frame of p.points) for (const q of frame) if (q) {
        lo = [Math.min(lo[0], q[0]), Math.min(lo[1], q[1])]; hi = [Math.max(hi[0], q[0]), Math.max(hi[1], q[1])];
      }
      views.push({ canvas, points: p.points, lo, hi });
    }
  }
  function activeHighlights(s) { return data.highlights.filter((h) => h.start <= s && s <= h.end); }
  function drawViews(s) {
    if (!data.skeleton) return;
    const frame = Math.min(Math.round(s * data.skeleton.fps), views[0].points.length - 1);
    const hot = new Set(activeHighlights(s).flatMap((h) => h.joints));
    for (const v of views) {
      const c = v.canvas, ctx = c.getContext("2d"), ratio = window.devicePixelRatio || 1;
      const w = c.clientWidth, h = c.clientHeight;
      if (c.width !== Math.round(w * ratio) || c.height !== Math.round(h * ratio)) {
        c.width = Math.round(w * ratio); c.height = Math.round(h * ratio);
      }
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, w, h);
      const span = Math.max(v.hi[0] - v.lo[0], v.hi[1] - v.lo[1], 1e-6);
      const scale = (0.9 * Math.min(w, h)) / span;
      const cx = (v.lo[0] + v.hi[0]) / 2, cy = (v.lo[1] + v.hi[1]) / 2;
      const at = (q) => [w / 2 + (q[0] - cx) * scale, h / 2 - (q[1] - cy) * scale];
      const pts = v.points[frame];
      ctx.lineCap = "round";
      ctx.lineWidth = 4;
      ctx.strokeStyle = "#2f3f52";
      for (const [i, j] of data.skeleton.bones) {
        if (!pts[i] || !pts[j]) continue;
        const [x1, y1] = at(pts[i]), [x2, y2] = at(pts[j]);
        ctx.beginPath(); ctx.moveTo(x1, y1); ctx.lineTo(x2, y2); ctx.stroke();
      }
      pts.forEach((q, j) => {
        if (!q) return;
        const [x, y] = at(q);
        ctx.beginPath();
        ctx.fillStyle = hot.has(j) ? "#b3261e" : "#2f3f52";
        ctx.arc(x, y, hot.has(j) ? 9 : 4, 0, 2 * Math.PI);
        ctx.fill();
      });
    }
  }

  // ---------------------------------------------------------------- sEMG
  const ROW = 26;
  function drawEmg(s) {
    const c = $("emg"), ctx = c.getContext("2d"), ratio = window.devicePixelRatio || 1;
    if (!data.emg) { c.hidden = true; $("no-emg").hidden = false; return; }
    const rows = data.emg.envelopes, w = c.clientWidth, h = rows.length * ROW;
    c.style.height = `${h}px`;
    if (c.width !== Math.round(w * ratio) || c.height !== Math.round(h * ratio)) {
      c.width = Math.round(w * ratio); c.height = Math.round(h * ratio);
    }
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const muscles = data.languages[lang].muscles;
    const labelW = Math.min(170, w * 0.4), plotW = w - labelW;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    rows.forEach((env, r) => {
      const top = r * ROW;
      ctx.fillStyle = "#1a1a1a";
      ctx.fillText(`${muscles[env.muscle] || env.muscle} ${sideName(env.side)}`, 4, top + ROW / 2, labelW - 8);
      ctx.strokeStyle = env.side === "left" ? "#1f6f5c" : "#7a4d99";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      env.values.forEach((y, k) => {
        const x = labelW + (plotW * k) / data.emg.rate / data.duration, yy = top + ROW - 3 - y * (ROW - 6);
        if (k) ctx.lineTo(x, yy); else ctx.moveTo(x, yy);
      });
      ctx.stroke();
    });
    ctx.fillStyle = "#005fcc";
    ctx.fillRect(labelW + (plotW * s) / data.duration - 1, 0, 2, h);
    const summary = rows.map((env) => `${muscles[env.muscle] || env.muscle} ${sideName(env.side)}: `
      + fmt(env.values[Math.min(env.values.length - 1, Math.round(s * data.emg.rate))] * 100, 0) + "%").join("; ");
    c.setAttribute("aria-label", `${t("emg")} ${fmt(s, 2)} s: ${summary}`);
  }

  // ---------------------------------------------------------------- the clock
  function showTime(s) {
    now = Math.max(0, Math.min(s, data.duration));
    $("scrub").value = String(now);
    $("clock").textContent = `${fmt(now, 2)} / ${fmt(data.duration, 2)} s`;
    $("scrub").setAttribute("aria-valuetext", `${fmt(now, 2)} s`);
    const cursor = $("cursor");
    if (cursor) cursor.style.left = pct(now);
    const names = {};
    for (const r of A().repetitions) for (const e of r.errors) names[`${r.index}|${e.rule}`] = e.label;
    const active = [...new Set(activeHighlights(now).map((h) => names[`${h.repetition}|${h.rule}`]))];
    $("active").textContent = active.length ? t("activeNow", { faults: active.join(", ") }) : "";
    drawViews(now);
    drawEmg(now);
  }
  function seek(s) { setPlaying(false); showTime(s); }
  let last = null;
  function tick(stamp) {
    if (!playing) return;
    if (last !== null) showTime(now + (stamp - last) / 1000);
    last = stamp;
    if (now >= data.duration) { setPlaying(false); return; }
    requestAnimationFrame(tick);
  }
  function setPlaying(on) {
    playing = on;
    last = null;
    $("play").setAttribute("aria-pressed", String(on));
    $("play").textContent = on ? t("pause") : t("play");
    if (on) { if (now >= data.duration) now = 0; requestAnimationFrame(tick); }
  }

  // ---------------------------------------------------------------- wiring
  const pick = $("lang");
  for (const code of Object.keys(data.languages)) pick.append(el("option", { value: code, text: data.languages[code].words.languageName ?? code }));
  pick.value = lang;
  pick.addEventListener("change", () => { lang = pick.value; renderTexts(); });
  const scrub = $("scrub");
  scrub.max = String(data.duration);
  scrub.step = String(data.skeleton ? 1 / data.skeleton.fps : 0.01);
  scrub.addEventListener("input", () => seek(Number(scrub.value)));
  $("play").addEventListener("click", () => setPlaying(!playing));
  window.addEventListener("resize", () => { fitBars(); showTime(now); });
  setupViews();
  renderTexts();
  document.body.dataset.ready = "true";
})();
