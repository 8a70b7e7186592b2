/* member-api web: small shared helpers, no framework. Every request these scripts make carries the page's CSRF
   token (X-CSRFToken) and X-Requested-With: fetch, so the server answers JSON {code, message_zh} instead of a page. */
(function () {
  "use strict";
  var web = (window.web = {});

  web.csrf = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };
  web.headers = function () {
    return { "X-CSRFToken": web.csrf(), "X-Requested-With": "fetch", Accept: "application/json" };
  };
  web.message = function (data) {
    return (data && data.message_zh) || "网络异常，请检查网络后重试";
  };
  /* A login that ran out: go where the server says (the login page), keeping nothing in the browser. */
  web.followLogin = function (data) {
    if (data && (data.code === "login_required" || data.code === "binding_required") && data.location) {
      window.location.href = data.location;
      return true;
    }
    return false;
  };
  web.request = function (method, url, body) {
    return fetch(url, { method: method, body: body, headers: web.headers(), credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.json().then(
          function (data) { return { ok: response.ok, status: response.status, data: data }; },
          function () { return { ok: false, status: response.status, data: {} }; }
        );
      })
      .catch(function () { return { ok: false, status: 0, data: {} }; })
      .then(function (result) {
        if (!result.ok) web.followLogin(result.data);
        return result;
      });
  };

  /* Shows a problem's message and marks the fields it names (errors[].field = the input's name). */
  web.showProblem = function (box, data, form) {
    if (box) {
      box.textContent = web.message(data);
      box.hidden = false;
      box.className = "notice notice-error";
    }
    if (form && data && data.errors) {
      data.errors.forEach(function (e) {
        var input = form.querySelector('[name="' + String(e.field).replace(/\[\d+\]$/, "") + '"]');
        if (input) input.setAttribute("aria-invalid", "true");
      });
    }
  };

  /* Countdown text in an element; calls done() at zero. Returns a stop function. */
  web.countdown = function (seconds, tick, done) {
    var end = Date.now() + seconds * 1000;
    function step() {
      var left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      tick(left);
      if (left <= 0) { clearInterval(timer); if (done) done(); }
    }
    var timer = setInterval(step, 250);
    step();
    return function () { clearInterval(timer); };
  };

  /* Large phone photos are scaled down in the browser (longest side 2000 px, JPEG) before upload; the server
     still checks type, size and pixels of whatever arrives. */
  function shrink(file) {
    if (!/^image\/(jpeg|png|webp|heic|heif)$/.test(file.type) || file.size < 1500000 || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file).then(function (bitmap) {
      var scale = Math.min(1, 2000 / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  function formDataWithShrunkFiles(form) {
    var data = new FormData();
    var pending = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled) return;
      if (el.type === "file") {
        Array.prototype.forEach.call(el.files, function (f) {
          pending.push(shrink(f).then(function (g) { return [el.name, g]; }));
        });
      } else if ((el.type === "checkbox" || el.type === "radio") && !el.checked) {
        return;
      } else if (el.tagName !== "BUTTON") {
        data.append(el.name, el.value);
      }
    });
    return Promise.all(pending).then(function (files) {
      files.forEach(function (pair) { data.append(pair[0], pair[1], pair[1].name); });
      return data;
    });
  }

  /* form[data-upload]: multipart POST with a progress bar; on success go to the answer's location. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-upload]")) return;
    event.preventDefault();
    var bar = form.querySelector("progress");
    var text = form.querySelector("[data-upload-text]");
    var box = form.querySelector("[data-upload-message]");
    var button = form.querySelector("button[type=submit], button:not([type])");
    if (box) box.hidden = true;
    if (button) button.disabled = true;
    if (text) text.textContent = "正在准备…";
    formDataWithShrunkFiles(form).then(function (data) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      var headers = web.headers();
      Object.keys(headers).forEach(function (k) { xhr.setRequestHeader(k, headers[k]); });
      if (bar) { bar.hidden = false; bar.value = 0; }
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        var pct = Math.round((e.loaded / e.total) * 100);
        if (bar) bar.value = pct;
        if (text) text.textContent = "已上传 " + pct + "%";
      };
      xhr.onload = function () {
        var answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = {}; }
        if (xhr.status >= 200 && xhr.status < 300) {
          if (bar) bar.value = 100;
          if (text) text.textContent = "上传完成 100%";
          setTimeout(function () { window.location.href = answer.location || window.location.href; }, 400);
          return;
        }
        if (web.followLogin(answer)) return;
        if (button) button.disabled = false;
        if (text) text.textContent = "";
        web.showProblem(box, answer, form);
      };
      xhr.onerror = function () {
        if (button) button.disabled = false;
        if (text) text.textContent = "";
        web.showProblem(box, {}, form);
      };
      xhr.send(data);
    });
  });

  /* form[data-once]: a second tap does not post the form twice. */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-once]") || event.defaultPrevented) return;
    setTimeout(function () {
      form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  /* select[data-autosubmit]: switching (e.g. whom a guardian acts for) submits its form at once. */
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) el.form.submit();
  });

  /* [data-confirm]: ask before a destructive submit. */
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) event.preventDefault();
  });

  /* [data-more]: infinite scroll; the server answers {html, next} for the next keyset page. */
  function watchMore(sentinel) {
    var list = document.querySelector(sentinel.getAttribute("data-target"));
    var loading = false;
    function load() {
      var url = sentinel.getAttribute("data-more");
      if (!url || loading) return;
      loading = true;
      sentinel.textContent = "加载中…";
      web.request("GET", url).then(function (r) {
        loading = false;
        if (!r.ok) { sentinel.textContent = web.message(r.data); return; }
        list.insertAdjacentHTML("beforeend", r.data.html);
        if (r.data.next) {
          sentinel.setAttribute("data-more", r.data.next);
          sentinel.textContent = "";
          if (sentinel.getBoundingClientRect().top < window.innerHeight + 200) load();
        } else {
          sentinel.removeAttribute("data-more");
          sentinel.textContent = "没有更多了";
          observer.disconnect();
        }
      });
    }
    var observer = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) load();
    }, { rootMargin: "200px" });
    observer.observe(sentinel);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-more]").forEach(watchMore);
  });
})();
