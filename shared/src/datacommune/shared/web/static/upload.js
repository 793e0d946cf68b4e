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

// Before the file is sent: which national schema its header looks like, and a dataset title
// made from it (« Subventions 2025 — Roques »). Only a first reading, of the header's names;
// validate's guess on the report is the one that counts. Without the script, the person
// types the schema (the field searches the list) and the report proposes it.
(function () {
  "use strict";
  var form = document.getElementById("depot");
  var file = document.getElementById("file");
  var schema = document.getElementById("schema");
  var title = document.getElementById("title");
  var said = document.getElementById("schema-guess");
  // getAttribute, not form.dataset: the form's own « dataset » field shadows that property.
  var data = form && form.getAttribute("data-schemas");
  if (!data || !file || !schema || !title || !said || !window.FileReader || !window.TextDecoder) {
    return;
  }
  var offered = JSON.parse(data);
  var suggested = "";  // the title this script wrote last: replaced only while left as it was

  function plain(name) {
    return name.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]/g, "");
  }
  function decode(buffer) {
    try { return new TextDecoder("utf-8", { fatal: true }).decode(buffer); }
    catch (e) { return new TextDecoder("windows-1252").decode(buffer); }
  }
  function columns(text) {
    var first = text.replace(/^\ufeff/, "").split(/\r\n|\n|\r/)[0] || "";
    var best = ",";
    [";", "\t", "|"].forEach(function (d) {
      if (first.split(d).length > first.split(best).length) { best = d; }
    });
    return first.split(best).map(function (c) { return plain(c.replace(/^"|"$/g, "")); });
  }
  function guess(names) {
    var found = null;
    offered.schemas.forEach(function (s) {
      if (!s.fields.length) { return; }
      var hits = s.fields.filter(function (f) { return names.indexOf(plain(f)) >= 0; }).length;
      var score = hits / s.fields.length;
      if (!found || score > found.score) { found = { schema: s, score: score }; }
    });
    return found && found.score >= 0.5 ? found : null;
  }
  function yearOf(name) {
    var match = name.match(/(?:^|\D)((?:19|20)\d{2})(?!\d)/);
    return match ? match[1] : String(offered.year);
  }
  function suggest(known) {
    if (title.value && title.value !== suggested) { return; }  // the person's own words stay
    var chosen = file.files && file.files[0];
    suggested = known.title + " " + yearOf(chosen ? chosen.name : "") + " — " +
      offered.organization;
    title.value = suggested;
  }
  file.addEventListener("change", function () {
    var chosen = file.files && file.files[0];
    if (!chosen || !/\.(csv|tsv|txt)$/i.test(chosen.name)) { return; }
    var reader = new FileReader();
    reader.onload = function () {
      var found = guess(columns(decode(reader.result)));
      if (!found) { said.textContent = said.dataset.none; return; }
      said.textContent = said.dataset.guessed + " : " + found.schema.title + " (" +
        found.schema.name + ", " + Math.round(found.score * 100) + " %)";
      if (!schema.value) { schema.value = found.schema.name; }
      if (schema.value === found.schema.name) { suggest(found.schema); }
    };
    reader.readAsArrayBuffer(chosen.slice(0, 65536));
  });
  schema.addEventListener("change", function () {
    var known = offered.schemas.filter(function (s) { return s.name === schema.value; })[0];
    if (known) { suggest(known); }
  });
})();
