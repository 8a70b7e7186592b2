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

  /* ---- bill total (display only: the server converts and checks every amount) ---- */
  var total = document.getElementById("bill-total");
  if (total) {
    var sum = function () {
      var fen = 0;
      document.querySelectorAll("[data-money]").forEach(function (i) {
        var m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(i.value.replace(/,/g, ""));
        if (m) fen += parseInt(m[1], 10) * 100 + parseInt((m[2] || "0") + "00".slice((m[2] || "0").length), 10);
        i.setAttribute("aria-invalid", i.value && !m ? "true" : "false");
      });
      total.textContent = Math.floor(fen / 100) + "." + String(fen % 100).padStart(2, "0");
    };
    document.addEventListener("input", sum);
    sum();
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
