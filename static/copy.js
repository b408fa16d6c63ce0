// Copy buttons: <button data-copy="#id" hidden> copies the value (or text) of the element #id.
// Without JavaScript the buttons stay hidden and the field can be selected and copied by hand.
(function () {
  "use strict";
  function copy(button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    var text = "value" in target ? target.value : target.textContent;
    var done = function () {
      var note = button.getAttribute("data-copied") || "Copied";
      button.textContent = note;
      button.classList.add("copied");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(target, done); });
    } else {
      fallback(target, done);
    }
  }
  function fallback(target, done) {
    if (target.select) {
      target.select();
      try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: copy by hand */ }
    }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
  document.querySelectorAll("input.select-on-focus").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
