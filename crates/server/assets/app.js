// Beacon dashboard: the only script besides htmx. Copy buttons (`data-copy="<element id>"`).
// Every page works without it; copying just saves a selection.
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(function () {
    var was = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = was; }, 1500);
  });
});
// The campaign and template editors: the preview frame follows the body as it is typed (the
// Preview button posts the form into the frame; without script, pressing it does the same).
(function () {
  var body = document.querySelector("textarea[data-preview]");
  if (!body) return;
  var button = document.getElementById(body.getAttribute("data-preview"));
  if (!button || !body.form || !body.form.requestSubmit) return;
  var timer = null;
  var refresh = function () { body.form.requestSubmit(button); };
  body.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 600);
  });
  if (body.value.trim() !== "") refresh();
})();
// Forms that delete or remove something ask first (`data-confirm="<question>"`); without
// script they submit at once, as before.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
