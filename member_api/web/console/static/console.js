/* Staff console: keyboard-first counter, idle logout, receipt printing, the receipt viewer. No framework, no
   third-party host; the page's CSRF token rides on every request (common.js). */
(function () {
  "use strict";

  /* ---- idle timeout (shared counter PCs) ---- */
  var idle = document.getElementById("idle");
  if (idle) {
    var limit = parseInt(idle.getAttribute("data-idle-s"), 10) || 900;
    var lastServer = Date.now();
    var deadline = Date.now() + limit * 1000;
    var tick = function () {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      idle.textContent = left <= 120 ? "将于 " + left + " 秒后自动退出" : "";
      if (left <= 0) window.location.href = idle.getAttribute("data-login");
    };
    var activity = function () {
      if (Date.now() - lastServer < 30000) return;
      lastServer = Date.now();
      fetch("/console/ping", { headers: window.web ? window.web.headers() : {}, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { if (r.ok) deadline = Date.now() + limit * 1000; });
    };
    ["keydown", "mousedown", "wheel", "touchstart"].forEach(function (e) { document.addEventListener(e, activity, { passive: true }); });
    setInterval(tick, 1000);
    tick();
  }

  /* ---- the scan field keeps the focus (a scanner in keyboard mode types into whatever has it) ---- */
  var keep = document.querySelector("[data-keep-focus]");
  if (keep) {
    keep.focus();
    document.addEventListener("focusout", function () {
      setTimeout(function () {
        var a = document.activeElement;
        if (!a || a === document.body || a === document.documentElement) keep.focus();
      }, 50);
    });
    document.addEventListener("keydown", function (e) {
      var a = document.activeElement;
      if (a && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) return;
      if (e.key.length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) keep.focus();
    });
  }

  /* ---- Esc: next member (counter pages) ---- */
  if (document.querySelector("#scan-form, #settle-form, .receipt")) {
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); window.location.href = "/console/counter"; }
    });
  }

  /* ---- a submit button with data-once is pressed once (the server's Idempotency-Key is the real guard) ---- */
  document.addEventListener("submit", function (e) {
    var b = e.target.querySelector("[data-once]");
    if (b && !e.defaultPrevented) setTimeout(function () { b.disabled = true; b.textContent = "处理中…"; }, 0);
  });

  /* ---- bill lines (R18) and totals (display only: the server values every line and converts every amount) ----
     Search the catalogue by code, name or pinyin initials; Enter adds the highlighted entry as a line and puts the
     cursor on its count; Enter in a count goes to the price, in a price back to the search; Enter on an empty search
     (or Ctrl+Enter anywhere) asks for the quote. */
  var CATEGORY = { "01": "甲类", "02": "乙类", "03": "丙类" };
  var yuan = function (fen) { return Math.floor(fen / 100) + "." + String(fen % 100).padStart(2, "0"); };
  var hundredths = function (value, digits) {
    var m = new RegExp("^\\s*(\\d{1," + digits + "})(?:\\.(\\d{1,2}))?\\s*$").exec(String(value).replace(/,/g, ""));
    return m ? parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10) : null;
  };
  var total = document.getElementById("bill-total");
  var rowsBody = document.getElementById("line-rows");
  var linesTotal = document.getElementById("lines-total");
  var recount = function () {
    var fen = 0;
    if (rowsBody) {
      var lines = 0;
      rowsBody.querySelectorAll("tr[data-line]").forEach(function (tr, i) {
        tr.querySelector(".line-no").textContent = String(i + 1);
        var count = tr.querySelector("[data-line-count]"), price = tr.querySelector("[data-line-price]");
        var c = hundredths(count.value, 6), p = hundredths(price.value, 9);
        count.setAttribute("aria-invalid", count.value && (c === null || c === 0) ? "true" : "false");
        price.setAttribute("aria-invalid", price.value && (p === null || p === 0) ? "true" : "false");
        var amount = c !== null && p !== null ? Math.floor((c * p + 50) / 100) : 0;  /* half up to the fen */
        tr.querySelector("[data-line-amount]").textContent = yuan(amount);
        lines += amount;
      });
      if (linesTotal) linesTotal.textContent = yuan(lines);
      fen += lines;
    }
    document.querySelectorAll("[data-money]").forEach(function (i) {
      var v = hundredths(i.value, 9);
      if (v !== null) fen += v;
      i.setAttribute("aria-invalid", i.value && v === null ? "true" : "false");
    });
    if (total) total.textContent = yuan(fen);
  };
  if (total) {
    document.addEventListener("input", recount);
    recount();
  }

  var search = document.getElementById("item-search");
  var billForm = document.getElementById("bill-form");
  if (search && rowsBody && billForm) {
    var list = document.getElementById("item-suggestions");
    var template = document.getElementById("line-template");
    var found = [], active = -1, timer = null, asked = 0, addWhenFound = false;
    var render = function () {
      list.textContent = "";
      found.forEach(function (e, i) {
        var li = document.createElement("li");
        li.id = "item-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === active ? "true" : "false");
        li.setAttribute("data-index", String(i));
        var name = document.createElement("strong");
        name.textContent = e.name;
        var rest = document.createElement("span");
        rest.className = "muted small";
        rest.textContent = " " + (e.spec || "") + " · " + (CATEGORY[e.category] || e.category) +
          (e.price_ceiling_fen ? " · 限价 " + yuan(e.price_ceiling_fen) : "") + " · " + e.code +
          (e.facility_code ? " · 本院 " + e.facility_code : "");
        li.appendChild(name);
        li.appendChild(rest);
        list.appendChild(li);
      });
      list.hidden = !found.length;
      search.setAttribute("aria-expanded", found.length ? "true" : "false");
      if (active >= 0) search.setAttribute("aria-activedescendant", "item-option-" + active);
      else search.removeAttribute("aria-activedescendant");
    };
    var add = function (e) {
      var tr = template.content.firstElementChild.cloneNode(true);
      tr.querySelector("[name=line_code]").value = e.code;
      tr.querySelector("[name=line_name]").value = e.name;
      tr.querySelector(".line-name").textContent = e.name;
      tr.querySelector(".code").textContent = e.code;
      tr.querySelector(".line-category").textContent = CATEGORY[e.category] || "";
      rowsBody.appendChild(tr);
      search.value = "";
      found = []; active = -1; addWhenFound = false;
      render();
      recount();
      var count = tr.querySelector("[data-line-count]");
      count.focus();
      count.select();
    };
    var lookup = function () {
      var q = search.value.trim();
      if (!q) { found = []; active = -1; render(); return; }
      var mine = ++asked;
      var params = new URLSearchParams({ q: q, limit: "10" });
      if (billForm.getAttribute("data-facility-id")) params.set("facility_id", billForm.getAttribute("data-facility-id"));
      var day = document.getElementById("visit_date");
      if (day && day.value) params.set("on", day.value);
      fetch("/v1/catalogue?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (body) {
          if (mine !== asked) return;
          found = body.items || [];
          active = found.length ? 0 : -1;
          render();
          if (addWhenFound && found.length) add(found[0]);
          addWhenFound = false;
        });
    };
    search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(lookup, 120); });
    search.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && found.length) { e.preventDefault(); active = (active + 1) % found.length; render(); }
      else if (e.key === "ArrowUp" && found.length) { e.preventDefault(); active = (active - 1 + found.length) % found.length; render(); }
      else if (e.key === "Escape" && search.value) { e.preventDefault(); e.stopPropagation(); search.value = ""; found = []; active = -1; render(); }
      else if (e.key === "Enter" && !e.ctrlKey && search.value.trim()) {
        e.preventDefault();
        if (found.length) add(found[Math.max(active, 0)]);
        else { addWhenFound = true; clearTimeout(timer); lookup(); }
      }
    });
    list.addEventListener("mousedown", function (e) {
      var li = e.target.closest ? e.target.closest("li[data-index]") : null;
      if (li) { e.preventDefault(); add(found[parseInt(li.getAttribute("data-index"), 10)]); }
    });
    rowsBody.addEventListener("keydown", function (e) {
      if (e.key !== "Enter" || e.ctrlKey) return;
      var t = e.target;
      if (t.hasAttribute("data-line-count")) { e.preventDefault(); t.closest("tr").querySelector("[data-line-price]").focus(); }
      else if (t.hasAttribute("data-line-price")) { e.preventDefault(); search.focus(); }
    });
    rowsBody.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("[data-remove-line]") : null;
      if (b) { b.closest("tr").remove(); recount(); search.focus(); }
    });
    billForm.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && e.ctrlKey) { e.preventDefault(); billForm.requestSubmit(); }
    });
  }

  /* ---- printing ---- */
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-print]")) window.print();
  });

  /* ---- receipt viewer: zoom, rotate, next/previous (keys + - R 0 ← →) ---- */
  var viewer = document.getElementById("viewer");
  var img = document.getElementById("viewer-image");
  if (viewer && img) {
    var pages = Array.prototype.map.call(viewer.querySelectorAll(".viewer-pages li"), function (li) {
      return { src: li.getAttribute("data-src"), label: li.getAttribute("data-label") };
    });
    var state = { i: 0, zoom: 1, rot: 0 };
    var label = viewer.querySelector("[data-testid=viewer-label]");
    var count = viewer.querySelector("[data-testid=viewer-count]");
    var zoomText = viewer.querySelector("[data-testid=viewer-zoom]");
    var apply = function () {
      img.style.transform = "rotate(" + state.rot + "deg) scale(" + state.zoom + ")";
      img.setAttribute("data-zoom", String(state.zoom));
      img.setAttribute("data-rotation", String(state.rot));
      if (zoomText) zoomText.textContent = Math.round(state.zoom * 100) + "%";
    };
    var show = function (i) {
      if (!pages.length) return;
      state.i = (i + pages.length) % pages.length;
      state.zoom = 1; state.rot = 0;
      img.src = pages[state.i].src;
      img.alt = pages[state.i].label;
      if (label) label.textContent = pages[state.i].label;
      if (count) count.textContent = state.i + 1 + " / " + pages.length;
      apply();
    };
    var act = function (what) {
      if (what === "next") show(state.i + 1);
      else if (what === "prev") show(state.i - 1);
      else if (what === "in") { state.zoom = Math.min(5, Math.round((state.zoom + 0.25) * 100) / 100); apply(); }
      else if (what === "out") { state.zoom = Math.max(0.25, Math.round((state.zoom - 0.25) * 100) / 100); apply(); }
      else if (what === "rotate") { state.rot = (state.rot + 90) % 360; apply(); }
      else if (what === "fit") { state.zoom = 1; state.rot = 0; apply(); }
    };
    viewer.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("[data-view]") : null;
      if (b) act(b.getAttribute("data-view"));
    });
    document.addEventListener("keydown", function (e) {
      var a = document.activeElement;
      if (a && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) return;
      var keys = { ArrowRight: "next", ArrowLeft: "prev", "+": "in", "=": "in", "-": "out", r: "rotate", R: "rotate", "0": "fit" };
      if (keys[e.key]) { e.preventDefault(); act(keys[e.key]); }
    });
    viewer.addEventListener("wheel", function (e) {
      if (!e.ctrlKey) return;
      e.preventDefault();
      act(e.deltaY < 0 ? "in" : "out");
    }, { passive: false });
  }
})();
