// Upload progress: the one script of the site. Without it the form is sent as usual; with it
// the same request goes through XMLHttpRequest so the bar can follow the bytes, then the page
// goes where the server's redirection points (the upload's own page).
(function () {
  "use strict";
  var form = document.getElementById("depot");
  var box = document.getElementById("progression");
  if (!form || !box || !window.XMLHttpRequest || !window.FormData) { return; }
  var bar = document.getElementById("barre");
  var text = document.getElementById("progression-texte");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    box.classList.remove("hidden");
    text.textContent = box.dataset.sending;
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "text/html");
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        var percent = Math.round((e.loaded / e.total) * 100);
        bar.value = percent;
        text.textContent = box.dataset.sending + " " + percent + " %";
      }
    });
    request.addEventListener("load", function () {
      bar.value = 100;
      text.textContent = box.dataset.sent;
      if (request.status < 400 && request.responseURL) {
        window.location.assign(request.responseURL);
      } else {
        document.open();
        document.write(request.responseText);
        document.close();
      }
    });
    request.addEventListener("error", function () {
      text.textContent = box.dataset.failed;
      button.disabled = false;
    });
    request.send(new FormData(form));
  });
})();
