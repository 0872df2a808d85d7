// Recording in the browser: a guided exam (tasks from the exam protocol, one by one with a
// countdown; the task times are saved with the video) or a free recording for twitching.
// The preview is mirrored by CSS only; MediaRecorder stores the camera's unmirrored picture.
"use strict";
const box = document.getElementById("recorder");
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const preview = document.getElementById("preview");
const promptEl = document.getElementById("prompt");
const countdownEl = document.getElementById("countdown");
const statusEl = document.getElementById("rec-status");
const uploadBar = document.getElementById("upload-progress");
const buttons = ["start-exam", "start-free"].map((id) => document.getElementById(id));
const stopBtn = document.getElementById("stop");
let protocol = null;
let stopRequested = false;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function loadProtocol() {
  const r = await fetch("/api/protocol", { headers: { Accept: "application/json" } });
  protocol = await r.json();
  const list = document.getElementById("task-list");
  protocol.tasks.forEach((t) => {
    const li = document.createElement("li");
    li.textContent = `${t.prompt} (${t.duration_s} s)`;
    list.appendChild(li);
  });
}

function pickMime() {
  const types = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm", "video/mp4"];
  return types.find((t) => window.MediaRecorder && MediaRecorder.isTypeSupported(t)) || "";
}

async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("this browser cannot record from a camera; upload a video instead");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" }, audio: false,
  });
  preview.srcObject = stream;
  return stream;
}

async function timed(seconds, text, shouldStop) {
  promptEl.textContent = text;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    if (shouldStop && stopRequested) return false;
    countdownEl.textContent = Math.ceil((end - performance.now()) / 1000);
    await sleep(100);
  }
  countdownEl.textContent = "";
  return true;
}

function upload(blob, kind, tasks) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    const ext = blob.type.includes("mp4") ? "mp4" : "webm";
    form.append("file", blob, `${kind}-${new Date().toISOString().replace(/[:.]/g, "-")}.${ext}`);
    form.append("kind", kind);
    form.append("source", "browser");
    if (tasks) form.append("tasks", JSON.stringify({ tasks }));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", box.dataset.uploadUrl);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    uploadBar.hidden = false;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) uploadBar.value = e.loaded / e.total; };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 201) resolve(body.url);
      else reject(new Error(body.error || `upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new Error("upload failed: the server could not be reached"));
    xhr.send(form);
  });
}

async function record(kind) {
  buttons.forEach((b) => (b.disabled = true));
  stopRequested = false;
  let stream;
  try {
    stream = await openCamera();
    await timed(3, "Get ready…", false);
    const chunks = [];
    const rec = new MediaRecorder(stream, { mimeType: pickMime() || undefined });
    rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const stopped = new Promise((r) => (rec.onstop = r));
    rec.start(1000);
    const t0 = performance.now();
    const now = () => (performance.now() - t0) / 1000;
    let tasks = null;
    stopBtn.hidden = false;
    if (kind === "exam") {
      tasks = [];
      await timed(protocol.lead_in_s, "Look at the camera", false);
      for (const t of protocol.tasks) {
        const start = now();
        await timed(t.duration_s, t.prompt, false);
        tasks.push({ task: t.id, start_s: +start.toFixed(3), end_s: +now().toFixed(3) });
        if (t.relax_s > 0) await timed(t.relax_s, "Relax", false);
        if (stopRequested) break;
      }
    } else {
      const seconds = +document.getElementById("free-seconds").value;
      await timed(seconds, "Relax and look at the camera", true);
    }
    promptEl.textContent = "";
    rec.stop();
    await stopped;
    stream.getTracks().forEach((t) => t.stop());
    stopBtn.hidden = true;
    if (stopRequested && kind === "exam" && tasks.length < protocol.tasks.length) {
      throw new Error("the exam was stopped before the end; nothing was saved");
    }
    statusEl.textContent = "Saving the recording…";
    const url = await upload(new Blob(chunks, { type: chunks[0] ? chunks[0].type : "video/webm" }), kind, tasks);
    statusEl.textContent = "Saved. Opening the analysis…";
    window.location.assign(url);
  } catch (err) {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    promptEl.textContent = "";
    countdownEl.textContent = "";
    stopBtn.hidden = true;
    statusEl.textContent = "";
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = err.name === "NotAllowedError" ? "the camera was not allowed; allow it in the browser and try again" : err.message;
    box.appendChild(p);
    buttons.forEach((b) => (b.disabled = false));
  }
}

document.getElementById("start-exam").addEventListener("click", () => record("exam"));
document.getElementById("start-free").addEventListener("click", () => record("twitch"));
stopBtn.addEventListener("click", () => { stopRequested = true; });
loadProtocol();
