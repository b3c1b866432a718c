import Foundation

/// The `--report out.html` page: self-contained (inline CSS, inline JS drawing SVG, thumbnails as
/// PNG data: URIs; nothing is fetched), showing valence and arousal over time per person — the
/// smoothed curve with a ±1 sd band of the temporal posterior and the raw single-frame points — a
/// thumbnail strip; when the result has an `audio` section, the speech segments, level and F0 on the
/// same time axis, and the soundscape (pleasantness and eventfulness of the sound environment per
/// window, [-1, 1]) under it; with `include=blendshapes` and/or `pose`, a few blendshapes (0...1) and the head
/// pose (degrees) per person. The page's data is the result JSON itself, embedded verbatim in
/// `<script type="application/json" id="affectd-result">`, so what the page shows is what the
/// API returned.
public enum HTMLReport {
    public struct Thumbnail: Sendable, Equatable, Encodable {
        public var t: Double
        public var person: Int?
        /// `data:image/png;base64,...`
        public var src: String

        public init(t: Double, person: Int?, pngDataURI: String) throws {
            let prefix = "data:image/png;base64,"
            guard pngDataURI.hasPrefix(prefix), pngDataURI.count > prefix.count,
                pngDataURI.utf8.dropFirst(prefix.utf8.count).allSatisfy({ Self.base64.contains($0) }),
                let png = Data(base64Encoded: String(pngDataURI.dropFirst(prefix.count))),
                png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            else { throw ReportError(description: "thumbnail at t=\(t) is not a PNG data: URI") }
            self.t = t; self.person = person; src = pngDataURI
        }

        static let base64 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".utf8)
    }

    public struct ReportError: Error, CustomStringConvertible { public let description: String }

    /// JSON made safe inside a <script> element: "<" only occurs inside JSON strings, where \u003c
    /// is the same character, so "</script>" in a file name cannot end the element.
    static func scriptJSON(_ data: Data) -> String {
        String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
    }

    /// The page. `priorVariance` turns a confidence back into the posterior sd for the band
    /// (confidence = 1 − variance / priorVariance, see docs/confidence.md).
    public static func render(
        _ result: AnalysisResult, thumbnails: [Thumbnail] = [], title: String = "affectd report",
        priorVariance: Double = KalmanSmoother.default.priorVariance
    ) throws -> String {
        let data = scriptJSON(try ResultJSON.encode(result))
        let thumbs = scriptJSON(try ResultJSON.encode(thumbnails))
        let settings = scriptJSON(try ResultJSON.encode(["prior_variance": priorVariance]))
        let safeTitle = title.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(safeTitle)</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
            h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 6px}
            .meta{color:#666;margin-bottom:12px} .chart{background:#fff;border:1px solid #ddd;margin:4px 0}
            .strip{display:flex;gap:6px;overflow-x:auto;padding:6px 0} .strip figure{margin:0;text-align:center;font-size:11px;color:#555}
            .strip img{height:72px;display:block;border:1px solid #ccc} .legend span{margin-right:14px}
            </style></head><body>
            <h1>\(safeTitle)</h1>
            <div class="meta" id="meta"></div>
            <div class="strip" id="thumbnails"></div>
            <div id="persons"></div>
            <script type="application/json" id="affectd-result">\(data)</script>
            <script type="application/json" id="affectd-thumbnails">\(thumbs)</script>
            <script type="application/json" id="affectd-settings">\(settings)</script>
            <script>
            \(script)
            </script>
            </body></html>

            """
    }

    static let script = #"""
        "use strict";
        (function () {
          const result = JSON.parse(document.getElementById("affectd-result").textContent);
          const thumbs = JSON.parse(document.getElementById("affectd-thumbnails").textContent);
          const prior = JSON.parse(document.getElementById("affectd-settings").textContent).prior_variance;
          const NS = "http://www.w3.org/2000/svg";
          const fmt = (x) => (x === null || x === undefined) ? "–" : Number(x).toFixed(2);
          const m = result.media || {}, s = result.summary;
          document.getElementById("meta").textContent =
            `${result.model.name} ${result.model.version} · ${m.frames_analyzed} frames analysed` +
            (m.duration !== null && m.duration !== undefined ? ` · ${Number(m.duration).toFixed(1)} s` : "") +
            ` · ${s.persons} person(s) · valence mean ${fmt(s.valence && s.valence.mean)}` +
            ` · arousal mean ${fmt(s.arousal && s.arousal.mean)} · confidence ${fmt(s.confidence)}`;
          const strip = document.getElementById("thumbnails");
          for (const t of thumbs) {
            const fig = document.createElement("figure"), img = document.createElement("img"), cap = document.createElement("figcaption");
            img.src = t.src; img.alt = `t=${t.t}`;
            cap.textContent = `${Number(t.t).toFixed(1)} s` + (t.person !== null && t.person !== undefined ? ` · #${t.person}` : "");
            fig.append(img, cap); strip.append(fig);
          }
          const el = (name, attrs) => { const e = document.createElementNS(NS, name); for (const k in attrs) e.setAttribute(k, attrs[k]); return e; };
          const host = document.getElementById("persons");
          const frames = result.frames || [];
          const audio = result.audio && result.audio.prosody ? result.audio : null;
          const times = frames.map((f) => f.t).concat(audio ? audio.prosody.map((p) => p.t) : [])
            .concat(audio && audio.soundscape ? audio.soundscape.windows.flatMap((w) => [w.start, w.end]) : []);
          const t0 = times.length ? Math.min(...times) : 0, t1 = times.length ? Math.max(Math.max(...times), t0 + 1e-3) : 1;
          const W = 900, H = 180, L = 40, R = 10, T = 10, B = 24;
          const x = (t) => L + (Math.min(t1, Math.max(t0, t)) - t0) / (t1 - t0) * (W - L - R), y = (v) => T + (1 - v) / 2 * (H - T - B);
          if (result.audio !== undefined) {
            // The sound on the faces' time axis: speech segments (shaded), level (dBFS, -80..0) and F0 (Hz, 50..400).
            const h = document.createElement("h2");
            h.textContent = audio ? `Sound · ${audio.speech.length} speech segment(s)` : "Sound · this clip has no audio";
            host.append(h);
            if (audio) {
              const svg = el("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-axis": "audio" });
              const yDb = (d) => y(Math.max(-1, Math.min(1, (d + 40) / 40))), yF0 = (f) => y(Math.max(-1, Math.min(1, (f - 225) / 175)));
              for (const seg of audio.speech)
                svg.append(el("rect", { x: x(seg.start), y: T, width: Math.max(1, x(seg.end) - x(seg.start)), height: H - T - B, fill: "#16a34a", "fill-opacity": 0.15, class: "speech" }));
              const level = audio.prosody.filter((p) => p.loudness_db !== null);
              svg.append(el("polyline", { points: level.map((p) => `${x(p.t)},${yDb(p.loudness_db)}`).join(" "), fill: "none", stroke: "#555", "stroke-width": 1.5, class: "loudness" }));
              for (const p of audio.prosody) if (p.f0_hz !== null)
                svg.append(el("circle", { cx: x(p.t), cy: yF0(p.f0_hz), r: 2.2, fill: "#7c3aed", class: "f0" }));
              const name = el("text", { x: L + 4, y: T + 12, "font-size": 12, fill: "#555" });
              name.textContent = "speech (green) · level dBFS −80..0 (line) · F0 50..400 Hz (dots)"; svg.append(name);
              host.append(svg);
              // Soundscape: the sound environment's affect per window (not a person's), one step per window.
              const sc = audio.soundscape;
              const sh = document.createElement("h3");
              sh.textContent = sc ? `Soundscape (${sc.model}): ${sc.describes}` : "Soundscape · not computed (no model, or under 3 s of audio)";
              host.append(sh);
              if (sc) {
                const ss = el("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-axis": "soundscape" });
                for (const v of [-1, 0, 1]) {
                  ss.append(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: v === 0 ? "#999" : "#e5e5e5" }));
                  const lab = el("text", { x: 4, y: y(v) + 4, "font-size": 11, fill: "#666" }); lab.textContent = v; ss.append(lab);
                }
                [["pleasantness", "#0891b2"], ["eventfulness", "#ea580c"]].forEach(([key, colour], i) => {
                  for (const w of sc.windows) if (w[key] !== null)
                    ss.append(el("line", { x1: x(w.start), x2: x(w.end), y1: y(w[key]), y2: y(w[key]), stroke: colour, "stroke-width": 3, class: key }));
                  const name = el("text", { x: L + 4 + i * 120, y: T + 12, "font-size": 12, fill: colour }); name.textContent = key; ss.append(name);
                });
                host.append(ss);
              }
            }
          }
          if (!result.persons.length) { const p = document.createElement("p"); p.textContent = "No persons were found in this clip."; host.append(p); document.body.setAttribute("data-rendered", "true"); return; }
          for (const person of result.persons) {
            const h = document.createElement("h2");
            h.textContent = `Person ${person.id} · ${person.frames} frames · confidence ${fmt(person.confidence)}`;
            host.append(h);
            const seen = [];
            for (const f of frames) for (const face of f.faces) if (face.person === person.id) seen.push({ t: f.t, face });
            for (const [key, colour] of [["valence", "#1f6fb4"], ["arousal", "#c2410c"]]) {
              const svg = el("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-person": person.id, "data-axis": key });
              for (const v of [-1, 0, 1]) {
                svg.append(el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: v === 0 ? "#999" : "#e5e5e5" }));
                const lab = el("text", { x: 4, y: y(v) + 4, "font-size": 11, fill: "#666" }); lab.textContent = v; svg.append(lab);
              }
              const name = el("text", { x: L + 4, y: T + 12, "font-size": 12, fill: colour }); name.textContent = key; svg.append(name);
              const pts = seen.filter((p) => p.face[key] !== null);
              if (pts.length) {
                const sd = (p) => Math.sqrt(Math.max(0, 1 - p.face.confidence) * prior);
                const upper = pts.map((p) => `${x(p.t)},${y(Math.min(1, p.face[key] + sd(p)))}`);
                const lower = pts.slice().reverse().map((p) => `${x(p.t)},${y(Math.max(-1, p.face[key] - sd(p)))}`);
                svg.append(el("polygon", { points: upper.concat(lower).join(" "), fill: colour, "fill-opacity": 0.18, class: "band" }));
                svg.append(el("polyline", { points: pts.map((p) => `${x(p.t)},${y(p.face[key])}`).join(" "), fill: "none", stroke: colour, "stroke-width": 2, class: "smoothed" }));
              }
              for (const p of seen) if (p.face.raw[key] !== null)
                svg.append(el("circle", { cx: x(p.t), cy: y(p.face.raw[key]), r: 1.8, fill: colour, "fill-opacity": 0.45, class: "raw" }));
              const tl = el("text", { x: W - R - 60, y: H - 6, "font-size": 11, fill: "#666" }); tl.textContent = `${Number(t1).toFixed(1)} s`; svg.append(tl);
              host.append(svg);
            }
            // Face measurements, when the result carries them: a few blendshapes and the head pose.
            const signals = [
              ["blendshapes", [0, 1], [["jawOpen", "#7c3aed"], ["mouthSmileLeft", "#16a34a"], ["browInnerUp", "#0891b2"], ["browDownLeft", "#b91c1c"], ["eyeBlinkLeft", "#a16207"]]],
              ["pose", [-60, 60], [["yaw", "#1f6fb4"], ["pitch", "#c2410c"], ["roll", "#4d7c0f"]]],
            ];
            for (const [field, [lo, hi], series] of signals) {
              const pts = seen.filter((p) => p.face[field]);
              if (!pts.length) continue;
              const ys = (v) => T + (hi - Math.min(hi, Math.max(lo, v))) / (hi - lo) * (H - T - B);
              const svg = el("svg", { class: "chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`, "data-person": person.id, "data-axis": field });
              for (const v of [lo, (lo + hi) / 2, hi]) {
                svg.append(el("line", { x1: L, x2: W - R, y1: ys(v), y2: ys(v), stroke: "#e5e5e5" }));
                const lab = el("text", { x: 4, y: ys(v) + 4, "font-size": 11, fill: "#666" }); lab.textContent = v; svg.append(lab);
              }
              series.forEach(([key, colour], i) => {
                const name = el("text", { x: L + 4 + i * 120, y: T + 12, "font-size": 12, fill: colour }); name.textContent = key; svg.append(name);
                const line = pts.filter((p) => typeof p.face[field][key] === "number").map((p) => `${x(p.t)},${ys(p.face[field][key])}`);
                if (line.length) svg.append(el("polyline", { points: line.join(" "), fill: "none", stroke: colour, "stroke-width": 1.5, class: "signal" }));
              });
              host.append(svg);
            }
          }
          const legend = document.createElement("p"); legend.className = "legend";
          legend.innerHTML = "<span>line: smoothed</span><span>band: ±1 sd of the temporal posterior</span><span>dots: single-frame estimates</span>";
          host.append(legend);
          document.body.setAttribute("data-rendered", "true");
        })();
        """#
}
