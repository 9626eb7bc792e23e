/* The task form's record pickers (sales/forms/activities.py, RelatedSearchInput): htmx loads the
   matches under the search box as one types; a pick fills the hidden input with the record's id.
   Changing the text forgets the pick, so a half-typed name never keeps an old record. */
(function () {
  "use strict";

  function pickerOf(el) { return el.closest && el.closest("[data-related-search]"); }
  function results(picker) { return picker.querySelector(".related-search-results"); }
  function input(picker) { return picker.querySelector("[data-related-input]"); }
  function close(picker) {
    results(picker).innerHTML = "";
    input(picker).setAttribute("aria-expanded", "false");
  }
  function options(picker) {
    return Array.prototype.slice.call(picker.querySelectorAll("[data-related-pick]"));
  }

  function choose(option) {
    var picker = pickerOf(option);
    picker.querySelector("[data-related-value]").value = option.getAttribute("data-pk");
    var box = input(picker);
    box.value = option.getAttribute("data-label");
    box.dataset.picked = box.value;
    close(picker);
    box.focus();
  }

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest("[data-related-pick]");
    if (option) { choose(option); return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-related-search]"), function (picker) {
      if (!picker.contains(event.target)) close(picker);
    });
  });

  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-related-input]")) return;
    var picker = pickerOf(box);
    if (box.value !== (box.dataset.picked || "")) {
      picker.querySelector("[data-related-value]").value = "";
      box.dataset.picked = "";
    }
    if (!box.value.trim()) close(picker);
  });

  document.addEventListener("keydown", function (event) {
    var picker = pickerOf(event.target);
    if (!picker) return;
    var list = options(picker);
    if (event.key === "Escape") { close(picker); input(picker).focus(); return; }
    if (event.key === "Enter" && event.target.matches("[data-related-input]")) {
      // Enter picks the first match instead of submitting the form half filled.
      if (list.length) { event.preventDefault(); choose(list[0]); }
      return;
    }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    if (!list.length) return;
    event.preventDefault();
    var index = list.indexOf(document.activeElement);
    if (event.key === "ArrowDown") list[Math.min(index + 1, list.length - 1)].focus();
    else if (index <= 0) input(picker).focus();
    else list[index - 1].focus();
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var picker = pickerOf(event.detail.target);
    if (!picker) return;
    input(picker).setAttribute("aria-expanded", options(picker).length ? "true" : "false");
  });

  // The label shown on load is the picked record's: remember it, so editing it forgets the pick.
  Array.prototype.forEach.call(document.querySelectorAll("[data-related-input]"), function (box) {
    box.dataset.picked = box.value;
  });
})();
