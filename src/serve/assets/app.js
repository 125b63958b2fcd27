// dfab serve: a job's log, live. Lines arrive as server-sent events and are added as text
// (never as HTML); the end event sets the status and reloads once for the final page.
(function () {
  var log = document.getElementById("log");
  if (!log || log.dataset.live !== "1") return;
  var job = log.dataset.job;
  var src = new EventSource("/jobs/" + job + "/events?after=" + log.dataset.after);
  src.addEventListener("line", function (e) {
    log.appendChild(document.createTextNode(e.data + "\n"));
    log.dataset.after = e.lastEventId;
    log.scrollTop = log.scrollHeight;
  });
  src.addEventListener("end", function (e) {
    src.close();
    document.querySelectorAll("[data-status]").forEach(function (s) {
      s.textContent = e.data;
      s.className = "status " + e.data;
    });
    log.dataset.live = "0";
    setTimeout(function () { location.reload(); }, 300);
  });
})();
