// camfx's control page: the picture (WebRTC, or MJPEG where WebRTC fails), the chain, the figures.
// Everything goes through camfx's JSON API; the server pushes figures and changes on /api/events.
"use strict";

const $ = (id) => document.getElementById(id);
const filters = {};        // name -> {name, doc, parameters: [{name, type, default, required, choices}]}
let chain = null;          // {filters: spec, steps: [{name, enabled, params, spec, kernel?}]}
let pendingChain = null;   // a pushed chain that waits while the user is editing an input
let recording = false;
let paused = false;
let view = null;           // {kind: "webrtc"|"mjpeg", stop()}

// -- talking to camfx -------------------------------------------------------------------------

async function api(method, path, body) {
  const options = {method, cache: "no-store", credentials: "same-origin", headers: {}};
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  let data = null;
  try { data = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) throw new Error(data && data.error ? data.error : `${response.status} ${response.statusText}`);
  return data;
}

function say(text, isError = false) {
  const message = $("message");
  message.textContent = text;
  message.classList.toggle("error", isError);
}

// -- the kernel grid: each weight in a cell, shaded from dark (most negative) to light ---------

function formatNumber(value) {
  return String(Number(value.toPrecision(4)));
}

function isMatrix(value) {
  return Array.isArray(value) && value.length > 0 && Array.isArray(value[0]) && value[0].length > 0 &&
    value.every((row) => Array.isArray(row) && row.length === value[0].length &&
      row.every((v) => typeof v === "number" && Number.isFinite(v)));
}

function drawKernel(grid, matrix) {
  grid.replaceChildren();
  grid.classList.toggle("invalid", !isMatrix(matrix));
  if (!isMatrix(matrix)) return;
  const peak = Math.max(...matrix.flat().map(Math.abs)) || 1;
  grid.style.gridTemplateColumns = `repeat(${matrix[0].length}, auto)`;
  for (const row of matrix) {
    for (const value of row) {
      const cell = document.createElement("span");
      const lightness = 50 + 45 * (value / peak);
      cell.className = "cell";
      cell.dataset.value = value;
      cell.textContent = formatNumber(value);
      cell.style.background = `hsl(0 0% ${lightness}%)`;
      cell.style.color = lightness > 60 ? "#111" : "#fff";
      grid.append(cell);
    }
  }
}

// -- an input per parameter, made from the filter's signature -----------------------------------

function formatList(value) {
  if (isMatrix(value)) return "[" + value.map((row) => "[" + row.map(formatNumber).join(", ") + "]").join(",\n ") + "]";
  return JSON.stringify(value);
}

function parameterInput(param, value) {
  let input;
  if (param.type === "bool") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = Boolean(value);
    input.readValue = () => input.checked;
  } else if (param.type === "choice") {
    input = document.createElement("select");
    for (const choice of param.choices) input.append(new Option(String(choice), JSON.stringify(choice)));
    input.value = JSON.stringify(value);
    input.readValue = () => JSON.parse(input.value);
  } else if (param.type === "int" || param.type === "float") {
    input = document.createElement("input");
    input.type = "number";
    input.step = param.type === "int" ? "1" : "any";
    input.value = value === null || value === undefined ? "" : String(value);
    input.readValue = () => {
      if (input.value.trim() === "") throw new Error(`${param.name} needs a number`);
      return Number(input.value);
    };
  } else if (param.type === "str") {
    input = document.createElement("input");
    input.type = "text";
    input.value = value ?? "";
    input.readValue = () => input.value;
  } else {  // lists (kernels) and anything else: written as JSON
    input = document.createElement("textarea");
    input.rows = isMatrix(value) ? value.length : 1;
    input.value = value === undefined ? "" : formatList(value);
    input.spellcheck = false;
    input.readValue = () => {
      try { return JSON.parse(input.value); } catch (e) {
        throw new Error(`${param.name} must be written as JSON, e.g. [[0, 1, 0], [1, -4, 1], [0, 1, 0]]`);
      }
    };
  }
  input.name = param.name;
  return input;
}

// -- the chain --------------------------------------------------------------------------------

function stepsAsSpec(steps) {
  return steps.map((s) => ({name: s.name, ...s.params}));
}

async function changeChain(steps) {
  try {
    showChain(await api("PUT", "/api/chain", {filters: stepsAsSpec(steps), enabled: steps.map((s) => s.enabled)}));
    say("");
  } catch (error) {
    say(error.message, true);
  }
}

function showChain(description) {
  chain = description;
  pendingChain = null;
  $("spec").textContent = description.filters || "(no filters)";
  $("chain").replaceChildren(...description.steps.map(stepItem));
}

function stepItem(step, index) {
  const item = document.createElement("li");
  item.className = "step" + (step.enabled ? "" : " off");
  item.dataset.index = index;
  item.dataset.name = step.name;

  const head = document.createElement("div");
  head.className = "head";
  const on = document.createElement("input");
  on.type = "checkbox";
  on.checked = step.enabled;
  on.title = "on / off";
  on.className = "enabled";
  on.addEventListener("change", async () => {
    try {
      showChain(await api("POST", `/api/chain/${index}/toggle`));
      say("");
    } catch (error) { say(error.message, true); on.checked = !on.checked; }
  });
  const name = document.createElement("strong");
  name.textContent = step.name;
  name.title = filters[step.name] ? filters[step.name].doc || "" : "";
  head.append(on, name, ...[
    ["▲", "move up", index > 0, () => move(index, -1)],
    ["▼", "move down", index < chain.steps.length - 1, () => move(index, 1)],
    ["✕", "remove", true, () => changeChain(chain.steps.filter((_, i) => i !== index))],
  ].map(([text, title, enabled, action]) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.title = title;
    button.className = title.replace(" ", "-");
    button.disabled = !enabled;
    button.addEventListener("click", action);
    return button;
  }));
  item.append(head);

  const error = document.createElement("p");
  error.className = "error step-error";
  const grid = document.createElement("div");
  grid.className = "kernel";
  const params = (filters[step.name] || {parameters: []}).parameters || [];
  if (params.length) {
    const form = document.createElement("div");
    form.className = "params";
    for (const param of params) {
      const label = document.createElement("label");
      const input = parameterInput(param, step.params[param.name]);
      label.append(document.createTextNode(param.name + " "), input);
      form.append(label);
      if (param.name === "matrix") {  // redraw the grid as the user types
        input.addEventListener("input", () => {
          try { drawKernel(grid, JSON.parse(input.value)); } catch (e) { drawKernel(grid, null); }
        });
      }
      input.addEventListener("change", () => setParameter(index, param.name, input, error));
    }
    item.append(form);
  }
  if (step.kernel) {
    drawKernel(grid, step.kernel.matrix);
    const scale = step.kernel.scale !== 1 ? ` × ${formatNumber(step.kernel.scale)}` : "";
    const offset = step.kernel.offset ? ` + ${formatNumber(step.kernel.offset)}` : "";
    grid.title = `kernel${scale}${offset} (correlated with the picture, as cv2.filter2D does)`;
    item.append(grid);
  }
  item.append(error);
  return item;
}

function move(index, by) {
  const steps = chain.steps.slice();
  [steps[index], steps[index + by]] = [steps[index + by], steps[index]];
  changeChain(steps);
}

async function setParameter(index, name, input, error) {
  try {
    const value = input.readValue();
    showChain(await api("PUT", `/api/chain/${index}/params/${encodeURIComponent(name)}`, {value}));
    say("");
  } catch (failure) {
    // The chain is unchanged; the input keeps what the user wrote, marked, with the reason.
    input.setAttribute("aria-invalid", "true");
    error.textContent = failure.message;
    say(failure.message, true);
  }
}

function placeholder(param) {
  if (param.name === "matrix") return [[0, 0, 0], [0, 1, 0], [0, 0, 0]];
  return {int: 1, float: 1.0, bool: false, str: "", list: []}[param.type] ?? null;
}

function addFilter() {
  const name = $("add-filter").value;
  const params = {};
  for (const param of filters[name].parameters) {
    if (param.required) params[param.name] = placeholder(param);
  }
  changeChain([...chain.steps, {name, params, enabled: true}]);
}

// -- figures and state, pushed by camfx ---------------------------------------------------------

function fixed(value, digits = 1) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}

// The figures of LiveLoop.status() (the HUD's), plus the server's viewers.
function showStats(s) {
  const lines = [
    `${fixed(s.fps)} fps   frame p50 ${fixed(s.frame_ms_p50)} ms  p99 ${fixed(s.frame_ms_p99)} ms   ` +
    `latency ${fixed(s.latency_ms)} ms   dropped ${s.dropped ?? 0}`,
  ];
  if (Array.isArray(s.filters) && s.filters.length) {
    lines.push(s.filters.map((f, i) => `${i + 1}:${f.name} ${f.enabled ? fixed(f.ms) + " ms" : "off"}`).join("   "));
  }
  if (Array.isArray(s.size)) lines.push(`${s.size[0]}x${s.size[1]}` + (s.governor ? `   ${s.governor}` : ""));
  const v = s.viewers || {};
  lines.push(`viewers: ${v.mjpeg ?? 0} MJPEG, ${v.webrtc ?? 0} WebRTC (at most ${v.max ?? "?"})`);
  $("hud").textContent = lines.join("\n");

  const state = s.running === false && s.state === "live" ? "ended" : (s.state || "unknown");
  const badge = $("source");
  badge.textContent = s.source ? `${s.source}: ${state}` : state;
  badge.className = `badge ${state}`;
  badge.dataset.state = state;
  paused = Boolean(s.paused);
  recording = Boolean(s.recording);
  $("pause").textContent = paused ? "Resume" : "Pause";
  $("record").textContent = recording ? "Stop recording" : "Record";
  $("record").classList.toggle("on", recording);
  $("flags").textContent = [paused ? "PAUSED" : "", recording ? `REC ${s.recording}` : ""].filter(Boolean).join("  ");
}

function editing() {
  return $("chain").contains(document.activeElement);
}

function connectEvents(delay = 500) {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/events`);
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "stats") showStats(message.stats);
    if (message.type === "chain" && JSON.stringify(message.chain) !== JSON.stringify(chain)) {
      if (editing()) pendingChain = message.chain; else showChain(message.chain);
    }
  };
  socket.onopen = () => { delay = 500; };
  socket.onclose = () => {
    const badge = $("source");
    if (!["ended", "failed"].includes(badge.dataset.state)) {
      badge.textContent = "camfx not reachable";
      badge.className = "badge ended";
    }
    setTimeout(() => connectEvents(Math.min(delay * 2, 8000)), delay);
  };
}

// -- the picture: WebRTC by default, MJPEG where WebRTC fails --------------------------------------

function startMJPEG(reason) {
  const img = $("mjpeg");
  img.src = `/stream.mjpg?t=${Date.now()}`;
  img.hidden = false;
  $("video").hidden = true;
  $("transport").textContent = reason ? `MJPEG (${reason})` : "MJPEG";
  $("view").value = "mjpeg";
  return {kind: "mjpeg", stop() { img.removeAttribute("src"); img.hidden = true; }};
}

function waitFor(check, target, events, ms, what) {
  return new Promise((resolve, reject) => {
    if (check()) return resolve();
    const timer = setTimeout(() => { done(); reject(new Error(`no ${what} within ${ms / 1000} s`)); }, ms);
    const listener = () => { if (check()) { done(); resolve(); } };
    const done = () => { clearTimeout(timer); events.forEach((e) => target.removeEventListener(e, listener)); };
    events.forEach((e) => target.addEventListener(e, listener));
  });
}

async function startWebRTC() {
  if (!window.RTCPeerConnection) throw new Error("this browser has no WebRTC");
  const video = $("video");
  const peer = new RTCPeerConnection();
  const stop = () => { peer.close(); video.srcObject = null; video.hidden = true; };
  try {
    const transceiver = peer.addTransceiver("video", {direction: "recvonly"});
    // Show each frame as soon as it is decoded: the least latency, for a picture one watches live.
    if ("jitterBufferTarget" in transceiver.receiver) transceiver.receiver.jitterBufferTarget = 0;
    peer.ontrack = (event) => { video.srcObject = event.streams[0] || new MediaStream([event.track]); };
    await peer.setLocalDescription(await peer.createOffer());
    // camfx (aiortc) takes all candidates in the offer, not one by one.
    await waitFor(() => peer.iceGatheringState === "complete", peer, ["icegatheringstatechange"], 3000, "ICE candidates");
    await peer.setRemoteDescription(await api("POST", "/api/webrtc",
      {sdp: peer.localDescription.sdp, type: peer.localDescription.type}));
    video.hidden = false;
    $("mjpeg").hidden = true;
    await waitFor(() => video.readyState >= 2 && video.videoWidth > 0, video, ["loadeddata", "resize", "playing"], 6000, "picture");
  } catch (error) {
    stop();
    throw error;
  }
  peer.addEventListener("connectionstatechange", () => {
    if (peer.connectionState === "failed" && view && view.peer === peer) {
      view.stop();
      view = startMJPEG("WebRTC connection lost");
    }
  });
  $("transport").textContent = "WebRTC";
  $("view").value = "webrtc";
  return {kind: "webrtc", peer, stop};
}

async function show(kind) {
  if (view) view.stop();
  view = null;
  if (kind === "webrtc") {
    $("transport").textContent = "WebRTC: connecting…";
    try {
      view = await startWebRTC();
      return;
    } catch (error) {
      say(`WebRTC failed (${error.message}); showing MJPEG instead`, true);
      view = startMJPEG("WebRTC failed");
      return;
    }
  }
  view = startMJPEG();
}

// -- start ----------------------------------------------------------------------------------

async function main() {
  const address = new URL(location.href);
  if (address.searchParams.has("token")) {  // the cookie carries it from now on; keep it out of sight
    address.searchParams.delete("token");
    history.replaceState(null, "", address.pathname + address.search + address.hash);
  }
  $("snapshot").addEventListener("click", async () => {
    try { say(`snapshot saved to ${(await api("POST", "/api/snapshot")).path}`); } catch (e) { say(e.message, true); }
  });
  $("record").addEventListener("click", async () => {
    try {
      const result = await api("POST", "/api/record", {on: !recording});
      recording = Boolean(result.recording);
      $("record").textContent = recording ? "Stop recording" : "Record";
      say(recording ? `recording to ${result.recording}` : "recording stopped");
    } catch (e) { say(e.message, true); }
  });
  $("pause").addEventListener("click", async () => {
    try {
      paused = (await api("POST", "/api/pause", {paused: !paused})).paused;
      $("pause").textContent = paused ? "Resume" : "Pause";
    } catch (e) { say(e.message, true); }
  });
  $("add").addEventListener("click", addFilter);
  $("view").addEventListener("change", () => show($("view").value));
  $("chain").addEventListener("focusout", () => setTimeout(() => {
    if (pendingChain && !editing()) showChain(pendingChain);
  }, 0));
  window.addEventListener("pagehide", () => { if (view) view.stop(); });

  try {
    for (const f of (await api("GET", "/api/filters")).filters) {
      if (f.error) continue;
      filters[f.name] = f;
      $("add-filter").append(new Option(f.name, f.name));
    }
    showChain(await api("GET", "/api/chain"));
  } catch (error) {
    say(error.message, true);
  }
  connectEvents();
  await show(address.searchParams.get("view") === "mjpeg" ? "mjpeg" : "webrtc");
  document.body.dataset.ready = "true";
}

main();
