// The page served at `/`: webcam in, live affect out, self-contained (no CDN, no other file), so it
// ships inside the binary and works wherever `affectd serve` runs. It streams JPEG frames to
// /v1/stream (README "Live streams"), draws each person's box with valence and arousal and a
// moving valence/arousal trace. `?autostart=1` starts without a click (used by the headless test);
// `window.affectd` exposes the counters.
enum StreamPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <link rel="icon" href="data:,">
        <title>affectd live</title>
        <style>
          body { font: 14px system-ui, sans-serif; margin: 16px; background: #fafafa; color: #222; }
          #stage { position: relative; width: 640px; height: 360px; background: #000; }
          #stage video, #stage canvas { position: absolute; left: 0; top: 0; width: 640px; height: 360px; }
          #trace { display: block; margin-top: 8px; background: #fff; border: 1px solid #ccc; }
          .row { margin: 8px 0; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
          #status.ok { color: #070; } #status.bad { color: #b00; }
          code { font-size: 12px; }
        </style>
        </head>
        <body>
        <h1>affectd live</h1>
        <div class="row">
          <label>API key <input id="key" type="password" size="24" autocomplete="off"></label>
          <label>fps <input id="fps" type="number" min="1" max="30" value="10" style="width: 4em"></label>
          <label><input id="expressions" type="checkbox"> expressions</label>
          <label><input id="resume" type="checkbox"> continue the last session</label>
          <button id="start">Start</button> <button id="stop" disabled>End</button>
        </div>
        <div class="row">
          status: <span id="status">idle</span> &middot; estimates: <span id="count">0</span>
          &middot; dropped: <span id="dropped">0</span> &middot; latency: <span id="latency">-</span> ms
        </div>
        <div id="stage"><video id="video" autoplay muted playsinline></video><canvas id="overlay" width="640" height="360"></canvas></div>
        <canvas id="trace" width="640" height="200"></canvas>
        <p>Valence (solid) and arousal (dashed) of each person over the last 30 s; boxes show the
        filtered estimate of the current frame.</p>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        const state = { messages: 0, dropped: 0, errors: [], closed: null, persons: {}, last: null };
        window.affectd = state;
        const colours = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#9a6324"];
        const colour = (id) => colours[(id - 1) % colours.length];
        let socket = null, timer = null, stream = null;
        const grab = document.createElement("canvas");

        function status(text, ok) { const s = $("status"); s.textContent = text; s.className = ok ? "ok" : "bad"; }

        async function start() {
          $("start").disabled = true;
          try {
            stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: false });
          } catch (e) { status("no camera: " + e.message, false); $("start").disabled = false; return; }
          $("video").srcObject = stream;
          const key = $("key").value.trim();
          const protocols = key ? ["affectd.v1", "bearer." + key] : ["affectd.v1"];
          const scheme = location.protocol === "https:" ? "wss://" : "ws://";
          socket = new WebSocket(scheme + location.host + "/v1/stream", protocols);
          socket.binaryType = "arraybuffer";
          status("connecting", true);
          socket.onopen = () => {
            const fps = Math.max(1, Math.min(30, Number($("fps").value) || 10));
            const saved = localStorage.getItem("affectd.state");
            if ($("resume").checked && saved) socket.send(JSON.stringify({ type: "resume", state: saved }));
            socket.send(JSON.stringify({ type: "options", include: $("expressions").checked ? ["expressions"] : [] }));
            timer = setInterval(sendFrame, 1000 / fps);
            $("stop").disabled = false;
            status("streaming", true);
          };
          socket.onmessage = (event) => receive(JSON.parse(event.data));
          socket.onclose = (event) => {
            clearInterval(timer);
            state.closed = { code: event.code, reason: event.reason };
            status("closed (" + event.code + (event.reason ? ": " + event.reason : "") + ")", event.code === 1000);
            $("start").disabled = false; $("stop").disabled = true;
            if (stream) stream.getTracks().forEach((t) => t.stop());
          };
        }

        function sendFrame() {
          const video = $("video");
          // Only the newest frame matters: skip while the previous one is still being sent.
          if (!socket || socket.readyState !== 1 || socket.bufferedAmount > 0 || video.videoWidth === 0) return;
          grab.width = video.videoWidth; grab.height = video.videoHeight;
          grab.getContext("2d").drawImage(video, 0, 0);
          const t = performance.now() / 1000;
          grab.toBlob((jpeg) => {
            if (!jpeg || socket.readyState !== 1) return;
            const header = new DataView(new ArrayBuffer(8));
            header.setFloat64(0, t, false);
            socket.send(new Blob([header.buffer, jpeg]));
          }, "image/jpeg", 0.8);
        }

        function receive(message) {
          if (message.type === "estimate") {
            state.messages += 1; state.last = message; state.dropped = message.counts.dropped;
            $("count").textContent = state.messages;
            $("dropped").textContent = message.counts.dropped;
            $("latency").textContent = message.latency_ms.toFixed(0);
            for (const p of message.persons) {
              const trace = state.persons[p.id] || (state.persons[p.id] = []);
              if (p.valence !== null) trace.push([message.t, p.valence, p.arousal]);
              while (trace.length && trace[0][0] < message.t - 30) trace.shift();
            }
            draw(message);
          } else if (message.type === "state") {
            localStorage.setItem("affectd.state", message.state);
          } else if (message.type === "error") {
            state.errors.push(message.detail);
            status("error: " + message.detail, false);
          }
        }

        function draw(message) {
          const video = $("video"), overlay = $("overlay"), g = overlay.getContext("2d");
          g.clearRect(0, 0, overlay.width, overlay.height);
          const sx = overlay.width / (video.videoWidth || overlay.width), sy = overlay.height / (video.videoHeight || overlay.height);
          g.lineWidth = 3; g.font = "bold 15px system-ui, sans-serif";
          for (const p of message.persons) {
            const [x, y, w, h] = p.box;
            g.strokeStyle = g.fillStyle = colour(p.id);
            g.strokeRect(x * sx, y * sy, w * sx, h * sy);
            const label = p.valence === null ? "#" + p.id
              : "#" + p.id + "  V " + p.valence.toFixed(2) + "  A " + p.arousal.toFixed(2) + "  (" + p.confidence.toFixed(2) + ")";
            g.fillText(label, x * sx, Math.max(16, y * sy - 6));
          }
          const tr = $("trace"), c = tr.getContext("2d"), W = tr.width, H = tr.height;
          c.clearRect(0, 0, W, H);
          c.strokeStyle = "#bbb"; c.lineWidth = 1; c.setLineDash([]);
          c.beginPath(); c.moveTo(0, H / 2); c.lineTo(W, H / 2); c.stroke();
          const x = (t) => W - (message.t - t) / 30 * W, y = (v) => H / 2 - v * (H / 2 - 4);
          for (const [id, trace] of Object.entries(state.persons)) {
            c.strokeStyle = colour(Number(id)); c.lineWidth = 2;
            for (const [axis, dash] of [[1, []], [2, [6, 4]]]) {
              c.setLineDash(dash); c.beginPath();
              trace.forEach((s, i) => (i ? c.lineTo(x(s[0]), y(s[axis])) : c.moveTo(x(s[0]), y(s[axis]))));
              c.stroke();
            }
          }
          c.setLineDash([]);
        }

        $("start").onclick = start;
        $("stop").onclick = () => socket && socket.readyState === 1 && socket.send(JSON.stringify({ type: "end" }));
        if (new URLSearchParams(location.search).has("autostart")) start();
        </script>
        </body>
        </html>
        """#
}
