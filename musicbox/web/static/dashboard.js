// Keeps the owner's status, graphs and log, or a member's queue, live: the server sends the same HTML it rendered, already escaped,
// each time the status changes (server-sent events; the browser reconnects by itself).
"use strict";
const status = document.getElementById("status");
const events = new EventSource(status.dataset.events);
events.addEventListener("status", (event) => { status.innerHTML = event.data; });
