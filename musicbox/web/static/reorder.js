// A member reorders the queue by dragging a song by its grip (mouse, pen or finger: pointer events,
// since HTML5 drag and drop does nothing on phones). The drop asks the REST API to move the song,
// with the member's login and the page's CSRF token; the live stream then redraws the queue, and
// the answer (moved, or why not) is shown as the buttons' answers are. The Up buttons stay, for
// keyboards and screen readers.
"use strict";
const live = document.getElementById("status");
let dragged = null;
let over = null;

function mark(item) {
  if (over) over.classList.remove("over");
  over = item && item !== dragged ? item : null;
  if (over) over.classList.add("over");
}

function say(sentence, refused) {
  let said = document.getElementById("said");
  if (!said) {
    said = document.createElement("p");
    said.id = "said";
    live.before(said);
  }
  said.className = refused ? "problem" : "notice";
  said.textContent = sentence;
}

live.addEventListener("pointerdown", (event) => {
  const grip = event.target.closest(".grip");
  if (!grip || event.button !== 0) return;
  event.preventDefault();
  dragged = grip.closest("li");
  dragged.classList.add("dragging");
  grip.setPointerCapture(event.pointerId);
});

live.addEventListener("pointermove", (event) => {
  if (!dragged) return;
  const under = document.elementFromPoint(event.clientX, event.clientY);
  mark(under ? under.closest("ol.queue li") : null);
});

async function drop() {
  const list = dragged.closest("ol.queue");
  const from = Number(dragged.dataset.position);
  const to = over ? Number(over.dataset.position) : from;
  dragged.classList.remove("dragging");
  mark(null);
  dragged = null;
  if (from === to) return;
  const answer = await fetch(list.dataset.move, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "X-CSRF-Token": document.querySelector("input[name=csrf]").value,
    },
    body: JSON.stringify({ from, to }),
  });
  const told = await answer.json();
  say(told.message || told.error, !answer.ok);
}

live.addEventListener("pointerup", () => { if (dragged) drop(); });
live.addEventListener("pointercancel", () => {
  if (!dragged) return;
  dragged.classList.remove("dragging");
  mark(null);
  dragged = null;
});
