// Live update of the latest blocks: the server says when the tip changes (server-sent
// events); the new table comes from the server, already escaped. Embedded in the binary.
"use strict";
(function () {
  var latest = document.getElementById("latest");
  if (!latest || !window.EventSource) { return; }
  var tipHeight = document.getElementById("tip-height");
  var status = document.getElementById("live-status");
  var source = new EventSource("/events");
  var shown = tipHeight ? tipHeight.textContent : "";
  source.addEventListener("block", function (e) {
    var tip;
    try { tip = JSON.parse(e.data); } catch (err) { return; }
    if (String(tip.height) === shown && latest.querySelector("a[href='/block/" + tip.hash + "']")) { return; }
    fetch("/fragment/latest", { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error("status " + r.status); }
      return r.text();
    }).then(function (html) {
      latest.innerHTML = html;
      var first = latest.querySelector("tbody tr");
      if (first) { first.className = "fresh"; }
      shown = String(tip.height);
      if (tipHeight) { tipHeight.textContent = shown; }
      var tipLink = document.querySelector("#tip-link a");
      var newest = latest.querySelector("tbody tr a.hash");
      if (tipLink && newest) { tipLink.replaceWith(newest.cloneNode(true)); }
      if (status) { status.textContent = "Updated live: tip at height " + shown + "."; }
    }).catch(function () {});
  });
  source.onerror = function () {
    if (status) { status.textContent = "Live updates paused; reconnecting."; }
  };
})();
