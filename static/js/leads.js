/* Leads: the conversion form's opportunity fields follow their checkbox, and the web form page's
   "Copy" button copies the HTML snippet. Without JavaScript every field stays visible and the
   snippet can be selected by hand. */
(function () {
  "use strict";

  function sync(box) {
    var target = document.querySelector(box.getAttribute("data-toggles"));
    if (target) target.hidden = !box.checked;
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("input[data-toggles]")) sync(event.target);
  });
  Array.prototype.forEach.call(document.querySelectorAll("input[data-toggles]"), sync);

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-target]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy-target"));
    if (!source) return;
    var done = function () {
      var label = button.getAttribute("data-copied-label");
      if (!label) return;
      var original = button.textContent;
      button.textContent = label;
      window.setTimeout(function () { button.textContent = original; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value || source.textContent).then(done);
    } else {
      source.select();
      document.execCommand("copy");
      done();
    }
  });
})();
