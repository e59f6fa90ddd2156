// seedgate console: the few live parts. Every page works without this script; it adds
// the playground's catalog-driven choices and price, live progress, copy buttons and
// confirmations.
"use strict";

function playground(form) {
  const catalog = JSON.parse(document.getElementById("catalog").textContent);
  const field = (name) => form.querySelector(`[data-choice="${name}"]`);
  const model = () => catalog.find((m) => m.id === field("model").value) || catalog[0];
  const quote = document.getElementById("quote");

  function fill(select, values, wanted, label = (v) => v) {
    const keep = values.map(String).includes(String(wanted)) ? String(wanted) : null;
    select.replaceChildren(...values.map((value) => {
      const option = new Option(label(value), value);
      option.selected = String(value) === keep;
      return option;
    }));
    if (keep === null && values.length) select.value = String(values[0]);
  }

  function refresh() {
    const m = model();
    const resolution = field("resolution");
    fill(resolution, m.resolutions, resolution.value || m.default_resolution);
    if (!m.resolutions.includes(resolution.value)) resolution.value = m.default_resolution;
    const framed = field("first_frame").files.length > 0;
    const ratios = [...m.ratios[resolution.value]];
    if (framed) ratios.unshift("adaptive");  // from the first frame's shape
    const ratio = field("ratio");
    fill(ratio, ratios, framed && !ratio.dataset.touched ? "adaptive" : ratio.value,
         (r) => (r === "adaptive" ? "adaptive (from the image)" : r));
    const seconds = field("seconds");
    fill(seconds, m.durations, seconds.value || m.default_duration, (d) => `${d} s`);
    const audio = field("audio");
    audio.disabled = !m.audio;
    if (!m.audio) audio.checked = false;
    const first = field("first_frame");
    const last = field("last_frame");
    first.disabled = !m.first_frame;
    first.required = !m.text;  // image-to-video models need a first frame
    last.disabled = !m.last_frame || !framed;
    for (const input of [first, last]) if (input.disabled) input.value = "";
    price();
  }

  let asked = 0;
  async function price() {
    const params = new URLSearchParams();
    for (const name of ["model", "resolution", "ratio", "seconds"]) params.set(name, field(name).value);
    if (field("audio").checked) params.set("audio", "on");
    if (field("first_frame").files.length) params.set("first_frame", "1");
    if (field("last_frame").files.length) params.set("last_frame", "1");
    const mine = ++asked;
    try {
      const answer = await fetch(`${form.dataset.quote}?${params}`, {credentials: "same-origin"});
      const body = await answer.json();
      if (mine !== asked) return;
      quote.classList.toggle("error", !answer.ok);
      quote.textContent = answer.ok ? `Costs ${body.credits.toLocaleString()} credits` : body.error;
    } catch (err) {
      if (mine === asked) quote.textContent = "";
    }
  }

  form.addEventListener("change", (event) => {
    if (event.target === field("ratio")) field("ratio").dataset.touched = "1";
    refresh();
  });
  form.addEventListener("submit", () => {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = "Generating…";
  });
  refresh();
}

function follow(box) {
  // A task's progress, live; when it has ended, the page is drawn again with the outcome.
  const bar = box.querySelector("progress");
  const status = box.querySelector(".live-status");
  const events = new EventSource(box.dataset.events);
  events.addEventListener("task", (event) => {
    const task = JSON.parse(event.data);
    bar.value = task.status === "queued" ? 0 : task.progress;
    status.textContent = task.status === "queued"
      ? `queued${task.queue_position ? `, ${task.queue_position} ahead` : ""}…`
      : `${task.status} · ${task.progress} %`;
    if (task.ended) {
      events.close();
      if (box.hasAttribute("data-reload")) window.location.reload();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("playground");
  if (form) playground(form);
  document.querySelectorAll("[data-events]").forEach(follow);
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (err) {
        document.execCommand("copy");
      }
      button.textContent = "Copied";
    });
  });
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
});
