// Keyboard shortcuts for the case list and the case page (issue 13). No framework: one listener.
//   j / k   next / previous case in the list      Enter   open the selected case
//   r       reply to the customer                 n       write an internal note
//   e       open the escalation form              ?       show or hide the list of shortcuts
// Keys are ignored while typing (inputs, text areas, selects, editable content) and with Ctrl,
// Alt or Meta held, so the browser's own shortcuts and text entry are never taken over.
(function () {
  "use strict";

  var help = document.getElementById("shortcut-help");

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr.case-row"));
  }

  function select(step) {
    var all = rows();
    if (all.length === 0) return false;
    var current = all.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = current < 0 ? (step > 0 ? 0 : all.length - 1)
      : Math.min(all.length - 1, Math.max(0, current + step));
    all.forEach(function (r) {
      r.classList.remove("selected");
      r.removeAttribute("aria-selected");
    });
    var row = all[next];
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    row.scrollIntoView({ block: "nearest" });
    return true;
  }

  // Enter on a focused link or button keeps its own meaning; only with nothing in particular
  // focused does it open the selected row.
  function openSelected(target) {
    if (target && target !== document.body && target.closest && target.closest("a, button, summary")) {
      return false;
    }
    var row = document.querySelector("tr.case-row.selected");
    var link = row && row.querySelector("a.case-title");
    if (!link) return false;
    window.location.href = link.href;
    return true;
  }

  // Opens the composer part (`details`) and puts the cursor in its text box.
  function compose(which) {
    var box = document.querySelector("details.compose-" + which);
    if (!box) return false;
    box.open = true;
    var area = box.querySelector("textarea[name=body]");
    if (!area) return false;
    area.scrollIntoView({ block: "center" });
    area.focus();
    return true;
  }

  function escalate() {
    var input = document.querySelector("details.workflow-action input[name=action][value=escalate]");
    var box = input && input.closest("details");
    if (!box) return false;
    box.open = true;
    box.scrollIntoView({ block: "center" });
    var first = box.querySelector("select, textarea, input:not([type=hidden])");
    if (first) first.focus();
    return true;
  }

  function toggleHelp(show) {
    if (!help) return false;
    help.hidden = show === undefined ? !help.hidden : !show;
    if (!help.hidden) {
      var close = help.querySelector("[data-close]");
      if (close) close.focus();
    }
    return true;
  }

  if (help) {
    help.addEventListener("click", function (event) {
      if (event.target === help || event.target.hasAttribute("data-close")) toggleHelp(false);
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (event.key === "Escape" && help && !help.hidden) {
      toggleHelp(false);
      event.preventDefault();
      return;
    }
    if (typing(event.target)) return;
    var handled = false;
    switch (event.key) {
      case "j": handled = select(1); break;
      case "k": handled = select(-1); break;
      case "Enter": handled = openSelected(event.target); break;
      case "r": handled = compose("reply"); break;
      case "n": handled = compose("note"); break;
      case "e": handled = escalate(); break;
      case "?": handled = toggleHelp(); break;
    }
    if (handled) event.preventDefault();
  });
})();
