"""The CSS and the script of the HTML pages (:mod:`swaplab.report.html`), inline.

The script reads the page's JSON and builds, for each trace, a table with a column per
thread and a row per step, a step slider with previous/next buttons, and a state panel:
the properties at the current step and the state's tables, each cell that changed since
the previous step highlighted (rows that appeared marked, rows that went shown struck
out). The arrow keys step the trace last clicked (the first one at first; a link to a
trace selects it); Home and End go to the first and the last step. On a claims page it
first draws the verdict table, each check with a schedule linking to its trace.
"""

STYLE = """
body { font: 14px/1.35 system-ui, sans-serif; margin: 1em 2em; color: #1b1b1b; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; }
code, .mono, td { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.trace { border-top: 3px solid #888; padding-top: .5em; }
.trace.active { border-top-color: #2a62c9; }
.controls { position: sticky; top: 0; background: #fff; padding: 6px 0; z-index: 2; }
.controls input[type=range] { width: 40em; max-width: 60vw; vertical-align: middle; }
.where { margin-left: 1em; font-weight: 600; }
.layout { display: flex; gap: 1.5em; align-items: flex-start; }
.steps { flex: 1 1 55%; max-height: 80vh; overflow: auto; position: relative; }
.panel { flex: 1 1 45%; position: sticky; top: 3em; max-height: 85vh; overflow: auto; }
.steps tr { cursor: pointer; }
.steps thead th { position: sticky; top: 0; z-index: 1; }
.steps tr.current td { background: #fff3b0; }
.steps tr.decides td { border-top: 2px solid #c62828; }
.steps .op { color: #888; }
.steps .ev { color: #0b3d91; }
.badge { color: #c62828; font-weight: 600; white-space: nowrap; }
.panel table { margin-bottom: 1em; width: 100%; }
.panel caption { text-align: left; font-weight: 600; padding: 4px 0; }
td.changed { background: #ffd27a; }
tr.added td { background: #c8f0c8; }
tr.removed td { background: #f6caca; text-decoration: line-through; }
.props li { list-style: none; margin: 2px 0; }
.ok { color: #2e7d32; } .bad { color: #c62828; font-weight: 600; } .unknown { color: #888; }
.broken { border-left: 4px solid #c62828; padding: 4px 10px; background: #fdecec;
  margin: .5em 0; }
.broken button { margin-left: .5em; }
.verdict-holds { background: #c8f0c8; } .verdict-partly { background: #ffe0a0; }
.verdict-no { background: #f6caca; } .verdict-other { background: #e6e6e6; }
.claims td { font-family: system-ui, sans-serif; font-size: 13px; }
.empty { color: #888; font-style: italic; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("swaplab-data").textContent);
  var app = document.getElementById("app");
  var viewers = [];
  var active = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function add(parent, child) { parent.appendChild(child); return child; }

  function activate(viewer) {
    if (active) { active.section.classList.remove("active"); }
    active = viewer;
    viewer.section.classList.add("active");
  }

  function Viewer(trace, index) {
    var self = this;
    this.trace = trace;
    this.pos = 0;
    this.last = trace.states.length - 1;
    var sec = this.section = add(app, el("section", "trace"));
    sec.id = "trace-" + index;
    add(sec, el("h2", null, trace.title));
    var info = add(sec, el("p"));
    add(info, el("span", null, "schedule "));
    add(info, el("code", null, trace.schedule));
    var count = trace.steps.filter(function (s) { return s.column >= 0; }).length;
    add(info, el("span", null, " \u2014 " + count + " steps, " + trace.outcome));
    this.decides = {};
    function mark(step, text) { (self.decides[step] = self.decides[step] || []).push(text); }
    if (!trace.failures.length) {
      add(sec, el("p", "empty", "no property broken by this schedule"));
    }
    trace.failures.forEach(function (f) {
      var box = add(sec, el("div", "broken"));
      box.dataset.property = f.property;
      var head = add(box, el("div"));
      add(head, el("b", null, "broken: " + f.property + (f.kind === "bug" ? "" :
                                                          " (" + f.kind + ")")));
      add(head, el("span", null, " \u2014 became true at step " + f.state));
      var go = add(head, el("button", null, "go to step " + f.state));
      go.addEventListener("click", function () { activate(self); self.go(f.state); });
      mark(f.state, f.property + " true from here");
      if (f.decided !== null && f.decided !== f.state) {
        add(head, el("span", null, "; decided at step " + f.decided +
                     " (from there, the run breaks it even without a preemption)"));
        var to = add(head, el("button", null, "go to step " + f.decided));
        to.addEventListener("click", function () { activate(self); self.go(f.decided); });
        mark(f.decided, f.property + " decided");
      }
      f.message.split(";").forEach(function (part) {
        if (part.trim()) { add(box, el("div", "mono", "\u2022 " + part.trim())); }
      });
    });
    var controls = add(sec, el("div", "controls"));
    var prev = add(controls, el("button", null, "\u25c0 prev"));
    this.slider = add(controls, el("input"));
    this.slider.type = "range";
    this.slider.min = "0";
    this.slider.max = String(this.last);
    this.slider.value = "0";
    this.slider.setAttribute("aria-label", "step");
    var next = add(controls, el("button", null, "next \u25b6"));
    this.where = add(controls, el("span", "where"));
    prev.addEventListener("click", function () { self.go(self.pos - 1); });
    next.addEventListener("click", function () { self.go(self.pos + 1); });
    this.slider.addEventListener("input", function () {
      activate(self); self.go(Number(self.slider.value));
    });
    var layout = add(sec, el("div", "layout"));
    this.box = add(layout, el("div", "steps"));
    this.rows = this.stepTable(this.box);
    this.panel = add(layout, el("div", "panel"));
    sec.addEventListener("mousedown", function () { activate(self); });
    sec.addEventListener("focusin", function () { activate(self); });
    this.go(0);
  }

  Viewer.prototype.stepTable = function (box) {
    var self = this, trace = this.trace, cols = trace.columns;
    var table = add(box, el("table"));
    var head = add(add(table, el("thead")), el("tr"));
    add(head, el("th", null, "step"));
    cols.forEach(function (c) { add(head, el("th", null, c)); });
    add(head, el("th", null, "broken"));
    var body = add(table, el("tbody"));
    return trace.steps.map(function (step, i) {
      var tr = add(body, el("tr"));
      tr.dataset.step = String(i);
      add(tr, el("td", null, i));
      if (step.column < 0) {
        var all = add(tr, el("td", "op", step.label));
        all.colSpan = cols.length;
      } else {
        cols.forEach(function (c, j) {
          var td = add(tr, el("td"));
          if (j !== step.column) { return; }
          add(td, el("div", "op", step.op));
          step.events.forEach(function (e) { add(td, el("div", "ev", e)); });
        });
      }
      var badge = add(tr, el("td", "badge"));
      if (self.decides[i]) {
        tr.classList.add("decides");
        badge.textContent = "\u2691 " + self.decides[i].join(", ");
      }
      tr.addEventListener("click", function () { activate(self); self.go(i); });
      return tr;
    });
  };

  Viewer.prototype.go = function (pos) {
    pos = Math.max(0, Math.min(this.last, pos));
    this.rows[this.pos].classList.remove("current");
    this.pos = pos;
    var row = this.rows[pos];
    row.classList.add("current");
    this.slider.value = String(pos);
    this.section.dataset.step = String(pos);
    var step = this.trace.steps[pos];
    var what = step.column < 0 ? step.label : step.label + ": " +
        (step.events.length ? step.events.join("; ") : step.op);
    this.where.textContent = "step " + pos + " / " + this.last + " \u2014 " + what;
    this.reveal(row);
    this.drawPanel();
  };

  Viewer.prototype.reveal = function (row) {
    // scroll the steps' box only (never the page) so that the current row shows
    var box = this.box, head = box.querySelector("thead").offsetHeight;
    var top = row.offsetTop, bottom = top + row.offsetHeight;
    if (top - head < box.scrollTop) { box.scrollTop = top - head; }
    else if (bottom > box.scrollTop + box.clientHeight) {
      box.scrollTop = bottom - box.clientHeight;
    }
  };

  Viewer.prototype.drawPanel = function () {
    var trace = this.trace, pos = this.pos, panel = this.panel;
    panel.textContent = "";
    var props = add(panel, el("ul", "props"));
    trace.properties.forEach(function (p) {
      var h = p.holds[pos];
      var li = add(props, el("li", h === true ? "ok" : h === false ? "bad" : "unknown"));
      li.dataset.property = p.name;
      li.textContent = (h === true ? "\u2713 " : h === false ? "\u2717 " : "? ") + p.name +
        ": " + (h === true ? "holds" : h === false ? "violated" : "not checked") + " here";
      if (p.broken) {
        add(li, el("span", null, " \u2014 broken at the end, true from step " + p.first +
                   (p.decided !== null ? ", decided at step " + p.decided : "")));
      }
      if (p.when === "at_end") {
        add(li, el("span", "unknown", " (at_end: meant for a drained state)"));
      }
    });
    var refs = trace.states[pos], before = pos > 0 ? trace.states[pos - 1] : null;
    if (!refs.length) { add(panel, el("p", "empty", "no kernel state: this model has none")); }
    refs.forEach(function (ref, k) {
      var old = before && before[k] !== undefined ? trace.tables[before[k]] : null;
      drawTable(panel, trace.tables[ref], old);
    });
  };

  function drawTable(panel, table, old) {
    var t = add(panel, el("table"));
    t.dataset.title = table.title;
    add(t, el("caption", null, table.title));
    var head = add(t, el("tr"));
    table.columns.forEach(function (c) { add(head, el("th", null, c)); });
    var was = {};
    if (old) { old.rows.forEach(function (r) { was[r[0]] = r; }); }
    var keys = {};
    table.rows.forEach(function (r) {
      keys[r[0]] = true;
      var tr = add(t, el("tr"));
      var prev = was[r[0]];
      if (old && !prev) { tr.className = "added"; }
      r.forEach(function (cell, j) {
        var td = add(tr, el("td", prev && prev[j] !== cell ? "changed" : null, cell));
        if (prev && prev[j] !== cell) { td.title = "was: " + prev[j]; }
      });
    });
    if (old) {
      old.rows.forEach(function (r) {
        if (keys[r[0]]) { return; }
        var tr = add(t, el("tr", "removed"));
        r.forEach(function (cell) { add(tr, el("td", null, cell)); });
      });
    }
    if (!table.rows.length && !(old && old.rows.length)) {
      var none = add(add(t, el("tr")), el("td", "empty", "(none)"));
      none.colSpan = table.columns.length;
    }
  }

  function verdictClass(v) {
    if (v === "holds") { return "verdict-holds"; }
    if (v === "partly") { return "verdict-partly"; }
    if (v === "does not hold") { return "verdict-no"; }
    return "verdict-other";
  }

  function drawClaims(rows) {
    var table = add(app, el("table", "claims"));
    var head = add(table, el("tr"));
    ["#", "claim", "verdict", "evidence"].forEach(function (c) { add(head, el("th", null, c)); });
    rows.forEach(function (row, i) {
      var tr = add(table, el("tr"));
      add(tr, el("td", null, i + 1));
      add(tr, el("td", null, row.claim));
      add(tr, el("td", verdictClass(row.verdict), row.verdict));
      var ev = add(tr, el("td"));
      var evidence = row.evidence || {};
      if (evidence.note) { add(ev, el("div", null, evidence.note)); }
      if (evidence.source) { add(ev, el("div", null, "source: " + evidence.source)); }
      if (row.command && !(evidence.checks || []).length) {
        add(ev, el("div", "mono", row.command));
      }
      var list = add(ev, el("ul"));
      (evidence.checks || []).forEach(function (c) {
        var li = add(list, el("li"));
        add(li, el("code", null, c.command));
        add(li, el("span", null, " \u2014 " + c.property + ": expected " + c.expected +
                   ", " + c.result + " (" + c.executions + " executions) "));
        if (c.trace !== undefined) {
          var a = add(li, el("a", null, "trace \u2193"));
          a.href = "#trace-" + c.trace;
        }
        if (c.trace_error) { add(li, el("span", "empty", c.trace_error)); }
      });
    });
  }

  function selectFromHash() {
    var m = /^#trace-(\d+)$/.exec(window.location.hash);
    if (m && viewers[Number(m[1])]) { activate(viewers[Number(m[1])]); }
  }

  add(app, el("h1", null, data.title));
  data.summary.forEach(function (line) { add(app, el("p", null, line)); });
  if (data.claims) { drawClaims(data.claims); }
  if (data.traces.length) {
    add(app, el("p", "empty", "Step with the slider, the buttons, a click on a row, or " +
                "the arrow keys (Home, End: first and last step)."));
  }
  data.traces.forEach(function (t, i) { viewers.push(new Viewer(t, i)); });
  if (viewers.length) { activate(viewers[0]); }
  selectFromHash();
  window.addEventListener("hashchange", selectFromHash);
  document.addEventListener("keydown", function (e) {
    if (!active || e.altKey || e.ctrlKey || e.metaKey) { return; }
    var tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") { return; }
    var to = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1}[e.key];
    if (to) { active.go(active.pos + to); }
    else if (e.key === "Home") { active.go(0); }
    else if (e.key === "End") { active.go(active.last); }
    else { return; }
    e.preventDefault();
  });
}());
"""
