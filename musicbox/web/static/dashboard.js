// Keeps the status, graphs and log live: the server sends the same HTML it rendered, already escaped,
// each time the status changes (server-sent events; the browser reconnects by itself).
"use strict";
const status = document.getElementById("status");
const events = new EventSource("/events" + location.search);  // ?level= filters the log
events.addEventListener("status", (event) => { status.innerHTML = event.data; });
