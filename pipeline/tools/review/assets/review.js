/* The review page. Its data comes as scripts beside it (data/*.js), loaded when needed, because a
   page opened from disk may not fetch() them. Every name and every recognized text is data: it is
   only ever set as textContent or an attribute value, never parsed as markup. */
"use strict";

var REVIEW = (function () {
  var ROWS = 100;          // pages per screen of the list
  var KEEP_CHUNKS = 24;    // page chunks (lines and boxes) kept in memory
  var cache = {};          // "kind-n" -> data
  var waiting = {};        // "kind-n" -> {promise, resolve, reject}
  var used = [];           // page chunk keys, least recently used first
  var requested = [];      // every data file asked for, in order (for tests and the curious)
  var summary = null;
  var scores = null;
  var state = { status: "all", score: "mean", from: null, to: null, list: 0, view: null };
  var matching = null;     // positions matching the filter (null: every page), for state
  var matchingKey = "";
  var renderToken = 0;

  // --- loading data files ------------------------------------------------------------------

  function fileName(kind, n) {
    if (kind === "summary" || kind === "scores") { return "data/" + kind + ".js"; }
    var digits = String(n);
    while (digits.length < 4) { digits = "0" + digits; }
    return "data/" + kind + "-" + digits + ".js";
  }

  function put(kind, n, data) {
    var key = kind + "-" + n;
    cache[key] = data;
    if (waiting[key]) { waiting[key].resolve(data); delete waiting[key]; }
  }

  function load(kind, n) {
    var key = kind + "-" + n;
    if (kind === "page") {
      var at = used.indexOf(key);
      if (at >= 0) { used.splice(at, 1); }
      used.push(key);
      while (used.length > KEEP_CHUNKS) { delete cache[used.shift()]; }
    }
    if (Object.prototype.hasOwnProperty.call(cache, key)) { return Promise.resolve(cache[key]); }
    if (waiting[key]) { return waiting[key].promise; }
    var entry = {};
    entry.promise = new Promise(function (resolve, reject) { entry.resolve = resolve; entry.reject = reject; });
    waiting[key] = entry;
    var script = document.createElement("script");
    script.src = fileName(kind, n);
    requested.push(fileName(kind, n));
    script.onload = function () { script.remove(); };
    script.onerror = function () {
      script.remove();
      delete waiting[key];
      entry.reject(new Error("the data file " + fileName(kind, n) + " is missing; build the review folder again"));
    };
    document.head.appendChild(script);
    return entry.promise;
  }

  // --- small helpers -----------------------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function svg(tag, attributes) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, String(attributes[name])); });
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function count(n) { return Number(n).toLocaleString("en"); }

  function score(value) { return value === null || value === undefined ? "\u2013" : value.toFixed(2); }

  function problem(error) {
    var box = $("problem");
    box.hidden = false;
    box.textContent = String(error && error.message ? error.message : error);
    document.body.setAttribute("data-problem", box.textContent);
  }

  // Block colours: dark, far apart, and none of them the red that marks a low-score line.
  var BLOCK_COLOURS = ["#1565c0", "#6a1b9a", "#00838f", "#2e7d32", "#ef6c00", "#5d4037", "#283593", "#827717"];

  function blockColour(block) {
    if (block === null || block === undefined) { return BLOCK_COLOURS[0]; }
    return BLOCK_COLOURS[block % BLOCK_COLOURS.length];
  }

  // --- the address bar holds the state: #status=errors&from=0&to=0.8&list=2&view=17 ----------

  function readHash() {
    var next = { status: "all", score: "mean", from: null, to: null, list: 0, view: null };
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var pair = part.split("=");
      var name = decodeURIComponent(pair[0] || ""), value = decodeURIComponent(pair[1] || "");
      if (name === "status" && ["all", "check", "errors", "ok"].indexOf(value) >= 0) { next.status = value; }
      if (name === "score" && (value === "mean" || value === "low")) { next.score = value; }
      if ((name === "from" || name === "to") && value !== "" && isFinite(Number(value))) { next[name] = Number(value); }
      if (name === "list" && /^[0-9]+$/.test(value)) { next.list = Number(value); }
      if ((name === "view" || name === "page") && /^[0-9]+$/.test(value)) { next.view = Number(value); }
    });
    return next;
  }

  function writeHash(next) {
    var parts = [];
    if (next.status !== "all") { parts.push("status=" + next.status); }
    if (next.score !== "mean") { parts.push("score=" + next.score); }
    if (next.from !== null) { parts.push("from=" + next.from); }
    if (next.to !== null) { parts.push("to=" + next.to); }
    if (next.list) { parts.push("list=" + next.list); }
    if (next.view !== null) { parts.push("view=" + next.view); }
    location.hash = parts.join("&");
  }

  function go(changes) {
    var next = {};
    Object.keys(state).forEach(function (name) { next[name] = state[name]; });
    Object.keys(changes).forEach(function (name) { next[name] = changes[name]; });
    writeHash(next);
  }

  // --- summary -------------------------------------------------------------------------------

  function showSummary() {
    $("run").textContent = summary.results + " (" + summary.format + ")";
    document.title = "OCR review: " + summary.results;
    $("built").textContent = "built " + summary.built + "; scans: " + summary.images + "; thumbnails: " +
      count(summary.thumbnails) + " (the first " + count(summary.thumbnail_limit) + " pages in review order)";
    var counts = $("counts");
    clear(counts);
    [["pages", summary.pages], ["ok", summary.ok], ["failed", summary.failed], ["without text", summary.empty],
     ["to check", summary.doubtful], ["characters", summary.chars], ["lines", summary.lines]]
      .forEach(function (pair) {
        var dt = el("dt", pair[0]);
        var dd = el("dd", count(pair[1]));
        dd.id = "count-" + pair[0].replace(/ /g, "-");
        counts.appendChild(dt);
        counts.appendChild(dd);
      });
    if (summary.superseded) {
      counts.appendChild(el("dt", "replaced"));
      counts.appendChild(el("dd", count(summary.superseded) + " older records"));
    }
    if (summary.skipped) {
      counts.appendChild(el("dt", "unreadable"));
      counts.appendChild(el("dd", count(summary.skipped) + " lines: " + summary.skipped_reasons.join("; ")));
    }
    drawHistogram();
    var slowest = $("slowest");
    clear(slowest);
    if (!summary.slowest.length) {
      slowest.appendChild(el("li", "no timings in these records", "none"));
    }
    summary.slowest.forEach(function (item) {
      var li = el("li");
      var a = el("a", item[1] + (item[2] ? " page " + item[2] : ""));
      a.href = "#view=" + item[0];
      li.appendChild(a);
      li.appendChild(document.createTextNode(" " + item[3].toFixed(2) + " s"));
      slowest.appendChild(li);
    });
  }

  function drawHistogram() {
    var box = $("histogram");
    clear(box);
    var bins = summary.histogram, most = Math.max.apply(null, bins.concat([1]));
    var width = 400 / bins.length;
    bins.forEach(function (n, i) {
      var height = n ? Math.max(1, 96 * n / most) : 0;
      var bar = svg("rect", { x: i * width + 1, y: 100 - height, width: width - 2, height: height });
      if ((i + 1) / bins.length <= summary.low_line + 1e-9) { bar.setAttribute("class", "low"); }
      var title = svg("title");
      title.textContent = (i / bins.length).toFixed(2) + "\u2013" + ((i + 1) / bins.length).toFixed(2) + ": " + count(n) + " lines";
      bar.appendChild(title);
      box.appendChild(bar);
    });
    [0, 0.5, 1].forEach(function (x) {
      var label = svg("text", { x: Math.min(388, x * 400), y: 114 });
      label.textContent = String(x);
      box.appendChild(label);
    });
    var total = bins.reduce(function (a, b) { return a + b; }, 0);
    $("histogram-note").textContent = "(" + count(total) + " lines; red: under " + summary.low_line + ")";
  }

  // --- the list --------------------------------------------------------------------------------

  function filtered() {
    // Positions (in review order) that pass the filter; null when every page does.
    var key = [state.status, state.score, state.from, state.to].join("|");
    if (state.status === "all" && state.from === null && state.to === null) { return Promise.resolve(null); }
    if (key === matchingKey) { return Promise.resolve(matching); }
    return load("scores", 0).then(function (data) {
      scores = data;
      var values = state.score === "low" ? scores.low : scores.mean;
      var low = state.from === null ? -Infinity : state.from * 1000 - 0.5;
      var high = state.to === null ? Infinity : state.to * 1000 + 0.5;
      var ranged = state.from !== null || state.to !== null;
      var out = [];
      for (var i = 0; i < values.length; i++) {
        var tier = scores.tier.charCodeAt(i) - 48;
        if (state.status === "errors" && tier !== 0) { continue; }
        if (state.status === "ok" && tier === 0) { continue; }
        if (state.status === "check" && tier === 3) { continue; }
        if (ranged && (values[i] < 0 || values[i] < low || values[i] > high)) { continue; }
        out.push(i);
      }
      matching = out;
      matchingKey = key;
      return out;
    });
  }

  function entries(positions) {
    // The list entries of these positions, loading their chunks.
    var chunks = {};
    positions.forEach(function (p) { chunks[Math.floor(p / summary.list_chunk)] = true; });
    return Promise.all(Object.keys(chunks).map(function (n) { return load("list", Number(n)); })).then(function () {
      return positions.map(function (p) { return cache["list-" + Math.floor(p / summary.list_chunk)][p % summary.list_chunk]; });
    });
  }

  function showList(token) {
    return filtered().then(function (positions) {
      var total = positions === null ? summary.pages : positions.length;
      var pages = Math.max(1, Math.ceil(total / ROWS));
      var screen = Math.min(state.list, pages - 1);
      var first = screen * ROWS, last = Math.min(total, first + ROWS);
      var shown = [];
      for (var i = first; i < last; i++) { shown.push(positions === null ? i : positions[i]); }
      return entries(shown).then(function (list) {
        if (token !== renderToken) { return; }
        $("listed").textContent = count(total) + (total === 1 ? " page" : " pages") + " listed";
        $("listed").setAttribute("data-count", String(total));
        $("shown").textContent = total ? count(first + 1) + "\u2013" + count(last) : "none";
        $("list-prev").disabled = screen === 0;
        $("list-next").disabled = screen >= pages - 1;
        $("list-prev").onclick = function () { go({ list: screen - 1 }); };
        $("list-next").onclick = function () { go({ list: screen + 1 }); };
        var rows = $("rows");
        clear(rows);
        list.forEach(function (entry, k) {
          var position = shown[k];
          var tr = el("tr", null, "tier-" + entry[3] + (position === state.view ? " current" : ""));
          tr.setAttribute("data-position", String(position));
          tr.appendChild(el("td", position + 1, "num"));
          var name = el("td", null, "name");
          var a = el("a", entry[0]);
          a.href = "#view=" + position;
          name.appendChild(a);
          tr.appendChild(name);
          tr.appendChild(el("td", entry[1], "num"));
          tr.appendChild(el("td", entry[2], "status"));
          tr.appendChild(el("td", score(entry[4]), "num"));
          tr.appendChild(el("td", score(entry[5]), "num"));
          tr.appendChild(el("td", count(entry[6]), "num"));
          tr.appendChild(el("td", entry[8].join("; "), "why"));
          tr.onclick = function (event) {
            if (event.target.tagName !== "A") { go({ view: position }); }
          };
          rows.appendChild(tr);
        });
      });
    });
  }

  function neighbour(position, step) {
    // The next (step 1) or previous (-1) page in review order that passes the filter, or null.
    var list = matchingKey === [state.status, state.score, state.from, state.to].join("|") ? matching : null;
    if (list === null) {
      var next = position + step;
      return next >= 0 && next < summary.pages ? next : null;
    }
    var low = 0, high = list.length;  // the first index whose position is above `position`
    while (low < high) {
      var middle = (low + high) >> 1;
      if (list[middle] <= position) { low = middle + 1; } else { high = middle; }
    }
    var at = step > 0 ? low : (list[low - 1] === position ? low - 2 : low - 1);
    return at >= 0 && at < list.length ? list[at] : null;
  }

  // --- one page --------------------------------------------------------------------------------

  function pageSize(view) {
    if (view.w && view.h) { return [view.w, view.h]; }
    var w = 0, h = 0;  // no size known: as big as the boxes reach
    view.l.forEach(function (line) {
      (line[2] || []).forEach(function (v, i) { if (i % 2) { h = Math.max(h, v); } else { w = Math.max(w, v); } });
    });
    return [Math.max(100, Math.ceil(w * 1.05)), Math.max(100, Math.ceil(h * 1.05))];
  }

  function highlight(i, on) {
    var polygon = document.querySelector('#boxes polygon[data-line="' + i + '"]');
    var item = document.querySelector('#lines li[data-line="' + i + '"]');
    [polygon, item].forEach(function (node) { if (node) { node.classList.toggle("hi", on); } });
  }

  function drawPage(entry, view) {
    var size = pageSize(view), w = size[0], h = size[1];
    var page = $("page"), boxes = $("boxes"), image = $("scan"), lines = $("lines");
    clear(boxes);
    clear(lines);
    boxes.setAttribute("viewBox", "0 0 " + w + " " + h);
    page.style.aspectRatio = w + " / " + h;
    var imageDone = Promise.resolve();
    page.hidden = !view.t && !view.l.some(function (line) { return line[2]; });  // nothing to draw
    if (view.t) {
      image.hidden = false;
      imageDone = new Promise(function (resolve) {
        image.onload = resolve;
        image.onerror = function () { image.hidden = true; $("no-image").textContent = "the thumbnail is missing"; resolve(); };
      });
      image.src = "thumbs/" + view.t;
      $("no-image").textContent = "";
    } else {
      image.hidden = true;
      image.removeAttribute("src");
      $("no-image").textContent = "No image shown: " + (view.why || "unknown") + "." +
        (page.hidden ? "" : " The boxes are drawn on a blank page.");
    }
    var fontSize = Math.max(w, h) / 45;
    var centres = [];
    view.l.forEach(function (line, i) {
      var text = line[0], value = line[1], box = line[2], block = line[3];
      var low = value !== null && value < summary.low_line;
      if (box) {
        var points = [], cx = 0, cy = 0, n = box.length / 2;
        for (var k = 0; k < box.length; k += 2) { points.push(box[k] + "," + box[k + 1]); cx += box[k] / n; cy += box[k + 1] / n; }
        centres.push(cx + "," + cy);
        var polygon = svg("polygon", { points: points.join(" "), "data-line": i, "class": low ? "box low" : "box" });
        polygon.style.stroke = blockColour(block);
        var title = svg("title");
        title.textContent = (i + 1) + ". " + text + " (" + score(value) + ")";
        polygon.appendChild(title);
        polygon.addEventListener("mouseenter", function () { highlight(i, true); });
        polygon.addEventListener("mouseleave", function () { highlight(i, false); });
        boxes.appendChild(polygon);
        var label = svg("text", { x: box[0], y: Math.max(fontSize, box[1] - fontSize * 0.15), "font-size": fontSize });
        label.textContent = String(i + 1);
        boxes.appendChild(label);
      }
      var li = el("li", null, low ? "low" : "");
      li.setAttribute("data-line", String(i));
      li.style.borderLeftColor = blockColour(block);
      if (block !== null && (i === 0 || view.l[i - 1][3] !== block)) { li.appendChild(el("span", "block " + block, "block")); }
      li.appendChild(el("span", text, "text"));
      li.appendChild(el("span", score(value), "score"));
      li.addEventListener("mouseenter", function () { highlight(i, true); });
      li.addEventListener("mouseleave", function () { highlight(i, false); });
      lines.appendChild(li);
    });
    if (centres.length > 1) {  // the reading order, as a path through the boxes
      boxes.insertBefore(svg("polyline", { points: centres.join(" "), "class": "order" }), boxes.firstChild);
    }
    var facts = [entry[7] + " lines", count(entry[6]) + " characters", "mean " + score(entry[4]), "lowest " + score(entry[5])];
    if (view.w && view.h) { facts.push(view.w + " \u00d7 " + view.h + " px"); }
    if (view.o) { facts.push("found turned " + view.o + "\u00b0, shown turned back"); }
    if (view.f) { facts.push("text from: " + view.f); }
    if (entry[9] !== null && entry[9] !== undefined) { facts.push(entry[9].toFixed(2) + " s"); }
    $("view-facts").textContent = facts.join(" \u00b7 ");
    return imageDone;
  }

  function showView(token) {
    var view = $("view"), position = state.view;
    if (position === null || position >= summary.pages) { view.hidden = true; return Promise.resolve(); }
    var listChunk = Math.floor(position / summary.list_chunk), pageChunk = Math.floor(position / summary.page_chunk);
    return Promise.all([load("list", listChunk), load("page", pageChunk)]).then(function (data) {
      if (token !== renderToken) { return; }
      var entry = data[0][position % summary.list_chunk], detail = data[1][position % summary.page_chunk];
      view.hidden = false;
      view.setAttribute("data-position", String(position));
      $("view-position").textContent = count(position + 1) + " of " + count(summary.pages) + " in review order";
      $("view-name").textContent = entry[0] + (entry[1] ? " \u2014 page " + entry[1] : "");
      var error = $("view-error");
      error.hidden = entry[2] !== "error";
      error.textContent = entry[2] === "error" ? entry[8][0] : "";
      var reasons = $("view-reasons");
      clear(reasons);
      entry[8].forEach(function (reason, i) { if (entry[2] !== "error" || i) { reasons.appendChild(el("li", reason)); } });
      $("view-prev").disabled = neighbour(position, -1) === null;
      $("view-next").disabled = neighbour(position, 1) === null;
      return drawPage(entry, detail);
    });
  }

  function render() {
    var token = ++renderToken;
    state = readHash();
    $("status").value = state.status;
    $("score").value = state.score;
    $("from").value = state.from === null ? "" : state.from;
    $("to").value = state.to === null ? "" : state.to;
    // The filter first: the page view's previous and next step through the pages it lets through.
    return filtered().then(function () { return Promise.all([showList(token), showView(token)]); }).then(function () {
      if (token === renderToken && !document.body.hasAttribute("data-ready")) {
        document.body.setAttribute("data-ready", performance.now().toFixed(0));
      }
    }).catch(problem);
  }

  function start() {
    window.addEventListener("error", function (event) { problem(event.message || "script error"); });
    $("filters").addEventListener("submit", function (event) {
      event.preventDefault();
      var from = $("from").value, to = $("to").value;
      go({ status: $("status").value, score: $("score").value, from: from === "" ? null : Number(from),
           to: to === "" ? null : Number(to), list: 0 });
    });
    $("status").addEventListener("change", function () { $("filters").requestSubmit(); });
    $("reset").addEventListener("click", function () { go({ status: "all", score: "mean", from: null, to: null, list: 0 }); });
    $("view-close").addEventListener("click", function () { go({ view: null }); });
    function step(by) {
      var next = state.view === null ? null : neighbour(state.view, by);
      if (next !== null) { go({ view: next }); }
    }
    $("view-prev").addEventListener("click", function () { step(-1); });
    $("view-next").addEventListener("click", function () { step(1); });
    document.addEventListener("keydown", function (event) {
      if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") { return; }
      if (event.key === "Escape") { go({ view: null }); }
      if (event.key === "j" || event.key === "ArrowRight") { step(1); }
      if (event.key === "k" || event.key === "ArrowLeft") { step(-1); }
    });
    load("summary", 0).then(function (data) {
      summary = data;
      showSummary();
      window.addEventListener("hashchange", render);
      return render();
    }).catch(problem);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  return { put: put, requested: requested };
})();
