// The console works without this file; it only adds "select a cycle's days" on the
// charge worklist (checks the boxes of the days between two dates of one stay).
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-select-days]");
  if (!button) return;
  var range = button.getAttribute("data-select-days").split("|");
  var form = button.closest("form");
  form.querySelectorAll('input[type="checkbox"][name="day"]').forEach(function (box) {
    box.checked = box.value >= range[0] && box.value <= range[1];
  });
});
