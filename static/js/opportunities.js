/* Opportunities: the kanban board (drag a card to another stage, saved at once, put back if the
   save fails), the stage order of a pipeline, the customer picker of the form and the forecast
   chart. Loaded only by those pages; no inline scripts (CSP). */
(function () {
  "use strict";

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function showError(text) {
    var box = document.getElementById("messages");
    if (!box) { window.alert(text); return; }
    var div = document.createElement("div");
    div.className = "alert alert-danger alert-dismissible fade show shadow-sm";
    div.setAttribute("role", "alert");
    div.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.setAttribute("data-bs-dismiss", "alert");
    var labelled = document.querySelector("[data-close-label]");
    close.setAttribute("aria-label", labelled ? labelled.getAttribute("data-close-label") : "×");
    div.appendChild(close);
    box.appendChild(div);
  }

  // POST a FormData, expecting JSON back; rejects with the server's {error} or a status.
  function postJSON(url, data) {
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok || !body.ok) {
          var failure = new Error(body.error || String(response.status));
          failure.body = body;
          throw failure;
        }
        return body;
      });
    });
  }

  // --- The board ------------------------------------------------------------------------------

  var lostModal = null;

  function askLostReason(onReason, onCancel) {
    var modalEl = document.getElementById("lost-reason-modal");
    if (!modalEl || !window.bootstrap) {
      var reason = window.prompt(modalEl ? modalEl.querySelector(".modal-title").textContent : "");
      if (reason && reason.trim()) { onReason(reason.trim()); } else { onCancel(); }
      return;
    }
    var form = modalEl.querySelector("[data-lost-form]");
    var input = form.querySelector("input[name=lost_reason]");
    var answered = false;
    input.value = "";
    lostModal = window.bootstrap.Modal.getOrCreateInstance(modalEl);
    form.onsubmit = function (event) {
      event.preventDefault();
      if (!input.value.trim()) { input.focus(); return; }
      answered = true;
      lostModal.hide();
      onReason(input.value.trim());
    };
    modalEl.addEventListener("hidden.bs.modal", function () {
      if (!answered) onCancel();
    }, { once: true });
    modalEl.addEventListener("shown.bs.modal", function () { input.focus(); }, { once: true });
    lostModal.show();
  }

  function updateTotals(board, columns) {
    Object.keys(columns || {}).forEach(function (stageId) {
      var column = board.querySelector('[data-column="' + stageId + '"]');
      if (!column) return;
      var totals = columns[stageId];
      var set = function (selector, value) {
        var el = column.querySelector(selector);
        if (el) el.textContent = value;
      };
      set("[data-col-count]", totals.count);
      set("[data-col-amount]", totals.amount);
      set("[data-col-weighted]", totals.weighted);
    });
  }

  function onDrop(event) {
    var card = event.item;
    var from = event.from;
    var to = event.to;
    var oldIndex = event.oldIndex;
    if (from === to && oldIndex === event.newIndex) return;
    var holder = document.getElementById("board");
    var board = to.closest("[data-board]");

    function putBack() {
      card.parentNode.removeChild(card);
      from.insertBefore(card, from.children[oldIndex] || null);
    }

    function send(reason) {
      var data = new FormData();
      data.append("stage", to.getAttribute("data-stage"));
      var next = card.nextElementSibling;
      var previous = card.previousElementSibling;
      if (next && next.getAttribute("data-id")) data.append("before", next.getAttribute("data-id"));
      if (previous && previous.getAttribute("data-id")) data.append("after", previous.getAttribute("data-id"));
      data.append("lost_reason", reason || "");
      data.append("filters", board.getAttribute("data-filters") || "");
      card.classList.add("is-saving");
      postJSON(card.getAttribute("data-move-url"), data)
        .then(function (body) {
          updateTotals(board, body.columns);
          var summary = document.querySelector("[data-board-summary]");
          if (summary && body.summary) summary.innerHTML = body.summary;
          var probability = card.querySelector("[data-card-probability]");
          if (probability && body.probability !== undefined) probability.textContent = body.probability + "%";
        })
        .catch(function (error) {
          putBack();
          var known = error.body && error.body.error;
          showError(known || holder.getAttribute("data-move-error"));
        })
        .then(function () { card.classList.remove("is-saving"); });
    }

    if (from !== to && to.getAttribute("data-lost") === "1") {
      askLostReason(send, putBack);
    } else {
      send("");
    }
  }

  function initBoard(root) {
    if (!window.Sortable) return;
    Array.prototype.forEach.call(root.querySelectorAll("[data-cards]"), function (list) {
      if (list.sortable) return;
      list.sortable = window.Sortable.create(list, {
        group: "board",
        animation: 150,
        draggable: ".kanban-card",
        ghostClass: "is-ghost",
        chosenClass: "is-chosen",
        delay: 150,
        delayOnTouchOnly: true,
        onEnd: onDrop
      });
    });
  }

  // --- Stage order on the pipeline page -----------------------------------------------------

  function initStageOrder(root) {
    if (!window.Sortable) return;
    Array.prototype.forEach.call(root.querySelectorAll("[data-stage-order]"), function (body) {
      if (body.sortable) return;
      body.sortable = window.Sortable.create(body, {
        handle: ".drag-handle",
        animation: 150,
        ghostClass: "is-ghost",
        onEnd: function (event) {
          if (event.oldIndex === event.newIndex) return;
          var ids = Array.prototype.map.call(body.querySelectorAll("tr[data-id]"), function (row) {
            return row.getAttribute("data-id");
          });
          var data = new FormData();
          data.append("order", ids.join(","));
          postJSON(body.getAttribute("data-url"), data)
            .then(function () { window.location.reload(); })
            .catch(function (error) {
              var row = event.item;
              row.parentNode.removeChild(row);
              body.insertBefore(row, body.children[event.oldIndex] || null);
              showError((error.body && error.body.error) || body.getAttribute("data-error"));
            });
        }
      });
    });
  }

  // --- The opportunity form: search results land in the customer select ----------------------

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.matches && target.matches("[data-customer-select]")) {
      target.dispatchEvent(new Event("change", { bubbles: true }));
    }
    if (target && target.id === "board") initBoard(target);
    if (target && target.matches && target.matches("[data-cards]")) dropRepeats(target);
  });

  // "Show more" appends the column's next cards after the last one first shown. A card dropped
  // at the end of the column since then is among them again: keep the one already there.
  function dropRepeats(list) {
    var seen = {};
    Array.prototype.forEach.call(list.querySelectorAll(".kanban-card"), function (card) {
      var id = card.getAttribute("data-id");
      if (seen[id]) { card.parentNode.removeChild(card); } else { seen[id] = true; }
    });
  }

  // --- The forecast chart ----------------------------------------------------------------------

  var PALETTE = ["#3b5bdb", "#74c0fc", "#20c997", "#fab005", "#fd7e14", "#e64980", "#845ef7", "#868e96"];

  function initChart() {
    var canvas = document.querySelector("[data-forecast-chart]");
    var source = document.getElementById("forecast-data");
    if (!canvas || !source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var lang = document.documentElement.lang || undefined;
    var monthName = new Intl.DateTimeFormat(lang, { month: "short", year: "numeric", timeZone: "UTC" });
    var number = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels.map(function (iso) { return monthName.format(new Date(iso + "T00:00:00Z")); }),
        datasets: data.datasets.map(function (set, index) {
          return { label: set.label, data: set.data, backgroundColor: PALETTE[index % PALETTE.length], borderRadius: 3 };
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, ticks: { callback: function (value) { return number.format(value); } } }
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: function (item) { return item.dataset.label + ": " + number.format(item.raw); } } }
        }
      }
    });
  }

  function init() {
    initBoard(document);
    initStageOrder(document);
    initChart();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
