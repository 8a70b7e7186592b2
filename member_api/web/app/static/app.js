/* The residents' H5 app: login code countdown, the self-renewing e-credential, "near me", claim item rows. */
(function () {
  "use strict";
  var web = window.web;

  /* ---- Login: send the SMS code, count down to the next allowed send (the server's own limit). ---- */
  function setupLogin(form) {
    var button = document.getElementById("send-code");
    var box = document.getElementById("login-message");
    var wait = parseInt(form.getAttribute("data-resend-after"), 10) || 60;
    var stop = null;
    function lock(seconds) {
      if (stop) stop();
      button.disabled = true;
      stop = web.countdown(seconds, function (left) {
        button.textContent = left > 0 ? left + " 秒后重发" : "重新获取";
      }, function () { button.disabled = false; });
    }
    var initial = parseInt(form.getAttribute("data-countdown"), 10) || 0;
    if (initial > 0 && initial < 3600) lock(initial);
    button.addEventListener("click", function (event) {
      event.preventDefault();
      box.hidden = true;
      var phone = form.querySelector("[name=phone]");
      phone.removeAttribute("aria-invalid");
      if (!/^1[3-9]\d{9}$/.test(phone.value.trim())) {
        web.showProblem(box, { message_zh: "请输入正确的 11 位手机号" });
        phone.setAttribute("aria-invalid", "true");
        phone.focus();
        return;
      }
      button.disabled = true;
      web.request("POST", "/app/login/code", new FormData(form)).then(function (r) {
        if (r.ok) {
          box.className = "notice notice-ok";
          box.textContent = r.data.message_zh;
          box.hidden = false;
          lock(r.data.resend_after_s || wait);
          form.querySelector("[name=code]").focus();
        } else {
          web.showProblem(box, r.data, form);
          var retry = r.data.retry_after_s;
          if (retry && retry < 3600) lock(retry); else button.disabled = false;
        }
      });
    });
  }

  /* ---- E-credential: renew before expiry, watch for the counter's settlement (server-sent events). ---- */
  function setupCredential(root) {
    var qr = document.getElementById("qr");
    var secondsEl = document.getElementById("seconds");
    var countdownEl = document.getElementById("countdown");
    var skew = parseInt(root.getAttribute("data-server-now"), 10) - Date.now();
    var state = {
      expiresAt: parseInt(root.getAttribute("data-expires-at"), 10),
      refreshAfter: parseInt(root.getAttribute("data-refresh-after"), 10),
      jtis: [root.getAttribute("data-jti")],
      used: false,
      renewing: false,
    };
    var source = null;
    var reopen = null;

    function serverNow() { return Date.now() + skew; }

    function showUsed(data) {
      state.used = true;
      if (source) source.close();
      document.getElementById("used-fund").textContent = data.fund;
      document.getElementById("used-member").textContent = data.member;
      document.getElementById("used-facility").textContent = data.facility + " · " + data.visit_date;
      document.getElementById("used-detail").href = "/app/history/" + data.id;
      qr.classList.add("hidden");
      countdownEl.classList.add("hidden");
      document.getElementById("used").classList.remove("hidden");
    }

    function listen() {
      if (state.used) return;
      if (source) source.close();
      clearTimeout(reopen);
      var query = state.jtis.map(function (j) { return "jti=" + encodeURIComponent(j); }).join("&");
      source = new EventSource(root.getAttribute("data-events-url") + "?" + query);
      source.addEventListener("used", function (e) { showUsed(JSON.parse(e.data)); });
      source.addEventListener("login", function (e) { window.location.href = JSON.parse(e.data).location; });
      source.onerror = function () {
        /* The browser reconnects by itself after a stream ends; if it gave up, open a new one shortly. */
        if (source.readyState === EventSource.CLOSED && !state.used) reopen = setTimeout(listen, 2000);
      };
    }

    function renew() {
      if (state.renewing || state.used) return;
      state.renewing = true;
      web.request("GET", root.getAttribute("data-code-url")).then(function (r) {
        state.renewing = false;
        if (!r.ok) {
          countdownEl.textContent = web.message(r.data);
          return;
        }
        var code = r.data;
        skew = code.now_ms - Date.now();
        qr.innerHTML = code.svg;
        qr.setAttribute("data-token", code.token);
        state.expiresAt = code.expires_at_ms;
        state.refreshAfter = code.refresh_after_ms;
        /* A code shown a moment ago may still be scanned until it expires: keep watching it too. */
        state.jtis = [code.jti].concat(state.jtis).slice(0, 3);
        listen();
      });
    }

    function tick() {
      if (state.used) return;
      var left = Math.max(0, Math.ceil((state.refreshAfter - serverNow()) / 1000));
      secondsEl.textContent = left;
      if (serverNow() >= state.refreshAfter) renew();
    }
    setInterval(tick, 500);
    tick();
    listen();
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) { tick(); if (!state.used) listen(); }
    });
  }

  /* ---- Clinics: "near me" from the browser's location (asked only when the resident taps). ---- */
  function setupNearMe(button) {
    var form = document.getElementById("clinic-search");
    var message = document.getElementById("near-message");
    button.addEventListener("click", function () {
      function say(text) { message.textContent = text; message.classList.remove("hidden"); }
      if (!navigator.geolocation) { say("此浏览器不能获取位置，请按名称或区县搜索"); return; }
      say("正在获取您的位置…");
      navigator.geolocation.getCurrentPosition(function (pos) {
        document.getElementById("near").value = pos.coords.latitude.toFixed(5) + "," + pos.coords.longitude.toFixed(5);
        form.querySelector("[name=division]").value = "all";
        form.querySelector("[name=q]").value = "";
        form.submit();
      }, function (err) {
        say(err.code === 1 ? "未允许获取位置，请在浏览器设置中允许，或按名称、区县搜索" : "暂时无法获取位置，请稍后再试或按名称搜索");
      }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 });
    });
  }

  /* ---- New claim: reveal another item row; the out-of-city name field follows the facility choice. ---- */
  function setupClaimForm(form) {
    var add = document.getElementById("add-item");
    if (add) {
      add.addEventListener("click", function () {
        var next = form.querySelector("fieldset.item[hidden]");
        if (next) { next.hidden = false; next.querySelector("input").focus(); }
        if (!form.querySelector("fieldset.item[hidden]")) add.hidden = true;
      });
    }
    form.querySelectorAll("[data-outside-toggle]").forEach(function (select) {
      var box = document.getElementById(select.getAttribute("data-outside-toggle"));
      function sync() { box.classList.toggle("hidden", select.value !== "outside"); }
      select.addEventListener("change", sync);
      sync();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var login = document.getElementById("login-form");
    if (login) setupLogin(login);
    var credential = document.getElementById("credential");
    if (credential) setupCredential(credential);
    var near = document.getElementById("near-me");
    if (near) setupNearMe(near);
    var claim = document.getElementById("claim-form");
    if (claim) setupClaimForm(claim);
  });
})();
