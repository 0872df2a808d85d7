// Recording in the browser: a guided exam (tasks from the exam protocol, one by one with a
// countdown; the task times are saved with the video) or a free recording for twitching.
// States: idle -> getting ready -> recording (with a timer) -> saving (upload progress) ->
// done, or back to idle with one plain message. A failed upload keeps the video in memory:
// send it again, or save it on this device. The preview is mirrored by CSS only; MediaRecorder
// stores the camera's unmirrored picture.
"use strict";
const box = document.getElementById("recorder");
const preview = document.getElementById("preview");
const promptEl = document.getElementById("prompt");
const countdownEl = document.getElementById("countdown");
const stateEl = document.getElementById("rec-state");
const errorEl = document.getElementById("rec-error");
const uploadBar = document.getElementById("upload-progress");
const startRow = document.getElementById("rec-start");
const afterRow = document.getElementById("rec-after");
const stopBtn = document.getElementById("stop");
let protocol = null;
let stopRequested = false;
let pending = null; // a recording whose upload failed: {blob, kind, tasks}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;

function setState(name, text) {
  stateEl.className = `rec-state ${name}`;
  stateEl.textContent = text;
  const busy = name === "ready" || name === "recording" || name === "saving";
  startRow.hidden = busy;
  stopBtn.hidden = name !== "recording";
}

function showError(text) { // one message at a time, never a pile
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = text;
  errorEl.replaceChildren(p);
}

// What a camera error means, in plain words, with what to try (DOMException names of getUserMedia)
const CAMERA_ERRORS = {
  NotAllowedError: "The camera is blocked for this page. Allow it (the camera symbol in the address bar, or the browser's site settings), then press Start again.",
  SecurityError: "The browser allows the camera only on a secure page: open facenerve at http://localhost or over https.",
  NotFoundError: "No camera was found. Connect one, or record on a phone and upload the video below.",
  OverconstrainedError: "The camera cannot film at a usable size. Try another camera, or upload a video below.",
  NotReadableError: "The camera is in use by another program (a video call?). Close it, then press Start again.",
  AbortError: "The camera stopped unexpectedly. Press Start again; if it repeats, restart the browser.",
};

function explain(err) {
  return CAMERA_ERRORS[err.name] || err.message || "Something went wrong; press Start again.";
}

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
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
    throw new Error("This browser cannot record from a camera. Record on a phone and upload the video below.");
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" }, audio: false,
  });
  preview.srcObject = stream;
  return stream;
}

async function timed(seconds, text, shouldStop, t0, total) {
  promptEl.textContent = text;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    if (shouldStop && stopRequested) return false;
    countdownEl.textContent = Math.ceil((end - performance.now()) / 1000);
    if (t0 !== undefined) {
      const s = (performance.now() - t0) / 1000;
      stateEl.textContent = `Recording ${clock(s)}${total ? ` of ${clock(total)}` : ""}`;
    }
    await sleep(100);
  }
  countdownEl.textContent = "";
  return true;
}

async function send() {
  const { blob, kind, tasks } = pending;
  const form = new FormData();
  const ext = blob.type.includes("mp4") ? "mp4" : "webm";
  form.append("file", blob, `${kind}-${new Date().toISOString().replace(/[:.]/g, "-")}.${ext}`);
  form.append("kind", kind);
  form.append("source", "browser");
  form.append("notes", document.getElementById("rec-notes").value);
  if (tasks) form.append("tasks", JSON.stringify({ tasks }));
  setState("saving", "Saving the recording…");
  afterRow.hidden = true;
  errorEl.replaceChildren();
  try {
    const url = await window.facenerveUpload(box.dataset.uploadUrl, form, uploadBar);
    pending = null;
    setState("done", "Saved. Opening the analysis…");
    window.location.assign(url);
  } catch (err) {
    uploadBar.hidden = true;
    setState("idle", "The recording is kept on this page until you leave it.");
    showError(err.message);
    const save = document.getElementById("save-copy");
    save.href = URL.createObjectURL(blob);
    save.download = `facenerve-${kind}.${ext}`;
    afterRow.hidden = false;
  }
}

async function record(kind) {
  stopRequested = false;
  errorEl.replaceChildren();
  afterRow.hidden = true;
  let stream;
  try {
    setState("ready", "Opening the camera…");
    stream = await openCamera();
    setState("ready", "Get ready: face the camera.");
    await timed(3, "Get ready…", false);
    const chunks = [];
    const rec = new MediaRecorder(stream, { mimeType: pickMime() || undefined });
    rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
    const stopped = new Promise((r) => (rec.onstop = r));
    rec.start(1000);
    const t0 = performance.now();
    const now = () => (performance.now() - t0) / 1000;
    let tasks = null;
    if (kind === "exam") {
      const total = protocol.lead_in_s + protocol.tasks.reduce((a, t) => a + t.duration_s + t.relax_s, 0);
      setState("recording", "Recording");
      tasks = [];
      await timed(protocol.lead_in_s, "Look at the camera", false, t0, total);
      for (const t of protocol.tasks) {
        const start = now();
        await timed(t.duration_s, t.prompt, false, t0, total);
        tasks.push({ task: t.id, start_s: +start.toFixed(3), end_s: +now().toFixed(3) });
        if (t.relax_s > 0) await timed(t.relax_s, "Relax", false, t0, total);
        if (stopRequested) break;
      }
    } else {
      const seconds = +document.getElementById("free-seconds").value;
      setState("recording", "Recording");
      await timed(seconds, "Rest quietly and look at the camera", true, t0, seconds);
    }
    promptEl.textContent = "";
    rec.stop();
    await stopped;
    stream.getTracks().forEach((t) => t.stop());
    if (stopRequested && kind === "exam" && tasks.length < protocol.tasks.length) {
      throw new Error("The exam was stopped before the end, so nothing was saved. Press Start guided exam to record it again.");
    }
    pending = { blob: new Blob(chunks, { type: chunks[0] ? chunks[0].type : "video/webm" }), kind, tasks };
    await send();
  } catch (err) {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    promptEl.textContent = "";
    countdownEl.textContent = "";
    setState("idle", "Ready: choose what to record.");
    showError(explain(err));
  }
}

document.getElementById("start-exam").addEventListener("click", () => record("exam"));
document.getElementById("start-free").addEventListener("click", () => record("twitch"));
document.getElementById("retry-upload").addEventListener("click", () => { if (pending) send(); });
stopBtn.addEventListener("click", () => { stopRequested = true; });
loadProtocol();
