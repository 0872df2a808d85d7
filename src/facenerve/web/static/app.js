// Small helpers shared by every page: the phone menu, drafts that survive a refused or
// expired form, confirm before deleting, follow an analysis's progress.
"use strict";

const toggle = document.querySelector(".menu-toggle");
if (toggle) {
  const nav = document.getElementById(toggle.getAttribute("aria-controls"));
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
  });
}

// A form marked data-draft keeps what was typed in this tab's sessionStorage when it is sent.
// If the server confirms ("saved"), the page's drafts are dropped; if the form comes back
// without the server's own copy (the session had ended, the login page sent us back here),
// the draft is put back. Logging out drops every draft.
const draftKey = (form) => `draft:${location.pathname}|${form.getAttribute("action")}`;
document.querySelectorAll("form[data-draft]").forEach((form) => {
  const key = draftKey(form);
  if (document.querySelector(".saved")) {
    sessionStorage.removeItem(key);
  } else if (!form.querySelector(".field-error") && sessionStorage.getItem(key)) {
    const draft = JSON.parse(sessionStorage.getItem(key));
    for (const [name, value] of Object.entries(draft)) {
      const el = form.elements.namedItem(name);
      if (el && "value" in el) el.value = value;
    }
    const note = document.createElement("p");
    note.className = "alert";
    note.setAttribute("role", "status");
    note.textContent = "What you typed before was kept: check it and send it again.";
    form.insertBefore(note, form.querySelector("input, select, textarea, label"));
  }
  form.addEventListener("submit", () => {
    const draft = {};
    for (const el of form.elements) {
      if (el.name && el.name !== "csrf" && el.type !== "password" && el.type !== "file" && "value" in el) {
        draft[el.name] = el.value;
      }
    }
    sessionStorage.setItem(key, JSON.stringify(draft));
  });
});
document.querySelectorAll("form[action='/logout']").forEach((form) => {
  form.addEventListener("submit", () => sessionStorage.clear());
});
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

// Uploads with a progress bar. The file stays chosen (or, for a camera recording, in memory)
// when an upload fails, so sending it again is one click.
window.facenerveUpload = (url, body, bar) => new Promise((resolve, reject) => {
  const xhr = new XMLHttpRequest();
  xhr.open("POST", url);
  xhr.setRequestHeader("X-CSRF-Token", document.querySelector('meta[name="csrf-token"]').content);
  xhr.setRequestHeader("Accept", "application/json");
  bar.hidden = false;
  bar.value = 0;
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  xhr.onload = () => {
    let answer = {};
    try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (xhr.status === 201) resolve(answer.url);
    else if (xhr.status === 401) reject(new Error("Your session has ended. Log in again in a new tab, then send the upload again from here."));
    else reject(new Error(answer.error || `The upload failed (${xhr.status}); try again.`));
  };
  xhr.onerror = () => reject(new Error("The upload did not reach the server (is it running?); try again."));
  xhr.send(body);
});

document.querySelectorAll("form[data-progress]").forEach((form) => {
  const bar = document.createElement("progress");
  bar.max = 1;
  bar.hidden = true;
  bar.setAttribute("aria-label", "upload");
  const alert = document.createElement("div");
  alert.setAttribute("role", "alert");
  form.append(bar, alert);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    alert.replaceChildren();
    try {
      window.location.assign(await window.facenerveUpload(form.action, new FormData(form), bar));
    } catch (err) {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = err.message;
      alert.append(p);
      bar.hidden = true;
      button.disabled = false;
      button.textContent = "Try again";
    }
  });
});
