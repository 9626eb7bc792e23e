/* Clientele's small amount of JavaScript. No inline scripts: the CSP forbids them. */
(function () {
  "use strict";

  // Selects marked data-autosubmit submit their form on change (role pickers, language).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("select[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });

  // Forms marked data-confirm="question" ask in a modal first; data-confirm-label names the
  // action on the modal's button ("Revoke" rather than a generic "Confirm").
  var pendingForm = null;
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset || !form.dataset.confirm || form.dataset.confirmed === "yes") return;
    var modalEl = document.getElementById("confirm-modal");
    if (!modalEl || !window.bootstrap) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      return;
    }
    event.preventDefault();
    pendingForm = form;
    modalEl.querySelector("[data-confirm-text]").textContent = form.dataset.confirm;
    var ok = modalEl.querySelector("[data-confirm-ok]");
    if (!ok.dataset.defaultLabel) ok.dataset.defaultLabel = ok.textContent;
    ok.textContent = form.dataset.confirmLabel || ok.dataset.defaultLabel;
    window.bootstrap.Modal.getOrCreateInstance(modalEl).show();
  });
  document.addEventListener("click", function (event) {
    if (!event.target.matches("[data-confirm-ok]") || !pendingForm) return;
    var form = pendingForm;
    pendingForm = null;
    form.dataset.confirmed = "yes";
    window.bootstrap.Modal.getOrCreateInstance(document.getElementById("confirm-modal")).hide();
    form.requestSubmit ? form.requestSubmit() : form.submit();
  });

  // "/" focuses the global search box, wherever it is.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (document.activeElement && document.activeElement.tagName) || "";
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(tag) || document.activeElement.isContentEditable) return;
    var box = document.querySelector("[data-global-search]");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  });

  // Server errors during an htmx swap: tell the user instead of failing silently.
  document.body.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("messages");
    if (!box) return;
    var div = document.createElement("div");
    div.className = "alert alert-danger alert-dismissible fade show";
    div.setAttribute("role", "alert");
    div.textContent = (document.documentElement.lang || "").indexOf("zh") === 0
      ? "操作未完成（错误 " + event.detail.xhr.status + "）。请重试。"
      : "That did not work (error " + event.detail.xhr.status + "). Please try again.";
    box.appendChild(div);
  });
})();

/* Customer list: selection checkboxes and the bulk-action bar. Rebinds after htmx swaps. */
(function () {
  "use strict";
  function selected(root) {
    return Array.prototype.map.call(root.querySelectorAll("input[name=select]:checked"), function (el) { return el.value; });
  }
  function refresh(root) {
    var form = root.querySelector("[data-bulk-form]");
    if (!form) return;
    var count = form.querySelector("[data-selected-count]");
    if (count) count.textContent = String(selected(root).length);
    var action = form.querySelector("[data-bulk-action]");
    Array.prototype.forEach.call(form.querySelectorAll("[data-bulk-field]"), function (el) {
      el.hidden = el.getAttribute("data-bulk-field").split(" ").indexOf(action.value) === -1;
    });
  }
  document.addEventListener("change", function (event) {
    var el = event.target;
    var root = el.closest && el.closest("#customer-results");
    if (!root) return;
    if (el.matches("[data-select-all]")) {
      Array.prototype.forEach.call(root.querySelectorAll("input[name=select]"), function (box) { box.checked = el.checked; });
    }
    refresh(root);
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-bulk-form]")) return;
    var root = form.closest("#customer-results") || document;
    form.querySelector("input[name=ids]").value = selected(root).join(",");
    var scope = form.querySelector("select[name=scope]");
    var button = form.querySelector("[data-confirm-all]");
    if (scope && scope.value === "all" && button && form.dataset.confirmed !== "yes") {
      form.dataset.confirm = button.getAttribute("data-confirm-all");
    } else {
      delete form.dataset.confirm;
    }
  }, true);
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("customer-results");
    if (root) refresh(root);
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var root = document.getElementById("customer-results");
    if (root) refresh(root);
  });
})();

/* Global search dropdown: arrow keys move between the hits, Escape or a click elsewhere closes
   it. The box itself is plain htmx (templates/search/partials/topbar.html). */
(function () {
  "use strict";
  function results() { return document.getElementById("global-search-results"); }
  function close() { var box = results(); if (box) box.innerHTML = ""; }
  function hits() {
    var box = results();
    return box ? Array.prototype.slice.call(box.querySelectorAll("a.search-hit")) : [];
  }
  document.addEventListener("keydown", function (event) {
    var input = document.getElementById("global-search");
    if (!input) return;
    var inside = event.target === input || (results() && results().contains(event.target));
    if (!inside) return;
    if (event.key === "Escape") { close(); input.focus(); return; }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var list = hits();
    if (!list.length) return;
    event.preventDefault();
    var index = list.indexOf(document.activeElement);
    if (event.key === "ArrowDown") {
      list[Math.min(index + 1, list.length - 1)].focus();
    } else if (index <= 0) {
      input.focus();
    } else {
      list[index - 1].focus();
    }
  });
  document.addEventListener("click", function (event) {
    var form = document.querySelector(".topbar-search");
    if (form && !form.contains(event.target)) close();
  });
  // A slow answer for an earlier text must not reopen the dropdown after the box was cleared.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var input = document.getElementById("global-search");
    if (input && event.detail.target === results() && !input.value.trim()) {
      event.detail.serverResponse = "";
    }
  });
})();
