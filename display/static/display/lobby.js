// The lobby display: follows the change feed's public topics of one hospital and redraws the
// "now serving" rows (hospital.{id}.queue: the queue board) and the free beds (hospital.{id}.beds).
// SSE first (snapshot=true: the current state on every (re)connect; EventSource reconnects by
// itself, the server asks for a 2 s retry); when the stream cannot be had at all (503: no ASGI
// server, or the browser gave up), it polls GET /api/v1/events every second and tries the stream
// again now and then. A `reset` event or a failure refetches the state from the REST API.
(function () {
  "use strict";
  var root = document.getElementById("lobby");
  if (!root) return;
  var hospitalId = root.dataset.hospitalId;
  var topics = root.dataset.topics;
  var after = Number(root.dataset.position) || 0;
  var wardLabels = JSON.parse(document.getElementById("ward-labels").textContent);
  var source = null;
  var pollTimer = null;
  var retryTimer = null;
  var POLL_MS = 1000;
  var STREAM_RETRY_MS = 5000;

  function setStatus(state, text) {
    var status = document.getElementById("status");
    status.dataset.state = state;
    status.textContent = text;
  }

  function cell(className, text) {
    var td = document.createElement("td");
    td.className = className;
    td.textContent = text;
    return td;
  }

  function flash(element) {
    element.classList.remove("flash");
    void element.offsetWidth; // restart the animation
    element.classList.add("flash");
  }

  function renderQueues(board) {
    var body = document.getElementById("queue-rows");
    var before = {};
    Array.prototype.forEach.call(body.querySelectorAll("tr[data-doctor-id]"), function (row) {
      before[row.dataset.doctorId] = row.querySelector(".token").textContent;
    });
    var rows = document.createDocumentFragment();
    (board.queues || []).forEach(function (queue) {
      var tr = document.createElement("tr");
      tr.dataset.doctorId = queue.doctor_id;
      var doctor = cell("doctor", (queue.doctor && queue.doctor.fullname) || "");
      var dept = document.createElement("span");
      dept.className = "dept";
      dept.textContent = (queue.doctor && queue.doctor.department) || "";
      doctor.appendChild(dept);
      tr.appendChild(doctor);
      tr.appendChild(cell("room", queue.room || "—"));
      var token = cell("token", queue.now_serving === null || queue.now_serving === undefined ? "—" : String(queue.now_serving));
      tr.appendChild(token);
      tr.appendChild(cell("waiting", String(queue.waiting)));
      if (before[queue.doctor_id] !== undefined && before[queue.doctor_id] !== token.textContent) flash(token);
      rows.appendChild(tr);
    });
    if (!board.queues || !board.queues.length) {
      var empty = document.createElement("tr");
      empty.className = "empty";
      var td = cell("", "No OPD queue is running today.");
      td.colSpan = 4;
      empty.appendChild(td);
      rows.appendChild(empty);
    }
    body.replaceChildren(rows);
  }

  function renderBeds(summary) {
    var list = document.getElementById("beds");
    var items = document.createDocumentFragment();
    var byType = summary.by_ward_type || {};
    Object.keys(byType).forEach(function (wardType) {
      var counts = byType[wardType];
      if (!counts.total) return;
      var li = document.createElement("li");
      li.dataset.wardType = wardType;
      var label = document.createElement("span");
      label.className = "label";
      label.textContent = wardLabels[wardType] || wardType;
      var free = document.createElement("span");
      free.className = "free";
      free.textContent = String(counts.available);
      li.appendChild(label);
      li.appendChild(free);
      items.appendChild(li);
    });
    if (!items.childNodes.length) {
      var empty = document.createElement("li");
      empty.className = "empty";
      empty.textContent = "No beds listed.";
      items.appendChild(empty);
    }
    list.replaceChildren(items);
  }

  function handle(event) {
    if (!event || !event.topic) return;
    if (typeof event.id === "number" && event.id > after) after = event.id;
    if (event.type === "reset") {
      refetch();
      return;
    }
    if (/\.queue$/.test(event.topic)) renderQueues(event.data || {});
    else if (/\.beds$/.test(event.topic)) renderBeds(event.data || {});
    root.dataset.eventId = String(after);
    root.dataset.changedAt = String(Date.now());
  }

  function getJSON(url) {
    return fetch(url, { cache: "no-store", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.json();
    });
  }

  function refetch() {
    return Promise.all([
      getJSON("/api/v1/hospitals/" + hospitalId + "/queue-board").then(renderQueues),
      getJSON("/api/v1/hospitals/" + hospitalId + "/availability").then(renderBeds),
    ]).catch(function () {
      setStatus("offline", "Offline — retrying");
    });
  }

  // --- polling fallback ---------------------------------------------------------------------
  function poll() {
    getJSON("/api/v1/events?topics=" + encodeURIComponent(topics) + "&after=" + after)
      .then(function (page) {
        (page.results || []).forEach(handle);
        if (typeof page.last_id === "number" && page.last_id > after) after = page.last_id;
        if (!source) setStatus("polling", "Updating");
      })
      .catch(function () {
        setStatus("offline", "Offline — retrying");
      });
  }

  function startPolling() {
    if (pollTimer) return;
    refetch();
    poll();
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  }

  // --- the stream -----------------------------------------------------------------------------
  function connect() {
    retryTimer = null;
    if (!window.EventSource) {
      startPolling();
      return;
    }
    var stream = new EventSource("/api/v1/events/stream?topics=" + encodeURIComponent(topics) + "&snapshot=true");
    source = stream;
    stream.onopen = function () {
      setStatus("live", "Live");
      stopPolling();
    };
    ["snapshot", "queue.changed", "beds.changed", "reset"].forEach(function (type) {
      stream.addEventListener(type, function (message) {
        try {
          handle(JSON.parse(message.data));
        } catch (error) {
          refetch();
        }
      });
    });
    stream.onerror = function () {
      if (stream.readyState === EventSource.CLOSED) {
        // The browser will not retry (an error answer such as 503): poll, and try the stream again.
        source = null;
        setStatus("polling", "Updating");
        startPolling();
        if (!retryTimer) retryTimer = setTimeout(connect, STREAM_RETRY_MS);
      } else {
        // Connection lost (a server restart): EventSource reconnects by itself with Last-Event-ID.
        setStatus("reconnecting", "Reconnecting…");
        startPolling();
      }
    };
  }

  function tick() {
    var now = new Date();
    var format = { hour: "2-digit", minute: "2-digit" };
    try {
      format.timeZone = root.dataset.timezone; // the hospital's local time, whatever the screen's setting
      document.getElementById("clock").textContent = now.toLocaleTimeString([], format);
    } catch (error) {
      delete format.timeZone;
      document.getElementById("clock").textContent = now.toLocaleTimeString([], format);
    }
  }

  tick();
  setInterval(tick, 10000);
  // A safety net for anything missed (and the day's change of queues): the full state every minute.
  setInterval(refetch, 60000);
  connect();
})();
