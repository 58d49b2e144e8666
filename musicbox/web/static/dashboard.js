// Keeps the status section live: the server sends the same HTML it rendered, already escaped,
// each time the status changes (server-sent events; the browser reconnects by itself).
"use strict";
const status = document.getElementById("status");
const events = new EventSource("/events");
events.addEventListener("status", (event) => { status.innerHTML = event.data; });
