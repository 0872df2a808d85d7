// Small helpers shared by pages: confirm before deleting, follow an analysis's progress.
"use strict";
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (ev) => {
    if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
  });
});

const job = document.getElementById("job");
if (job && (job.dataset.status === "queued" || job.dataset.status === "running")) {
  const bar = document.getElementById("job-progress");
  const status = document.getElementById("job-status");
  const message = document.getElementById("job-message");
  const poll = async () => {
    try {
      const r = await fetch(job.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (r.ok) {
        const s = await r.json();
        status.textContent = s.status;
        status.className = "status " + s.status;
        message.textContent = s.message || "";
        if (bar && s.progress !== null) bar.value = s.progress;
        if (s.status === "done" || s.status === "failed") {
          window.location.reload();
          return;
        }
      }
    } catch (e) { /* the server may be restarting: keep trying */ }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
}
