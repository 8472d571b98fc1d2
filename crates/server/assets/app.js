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
