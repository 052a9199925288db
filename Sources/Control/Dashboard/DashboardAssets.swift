import Foundation

// The dashboard's one script and one style sheet, compiled into the binary: no build step, no files to find
// at run time, and the Content-Security-Policy's `script-src 'self'` admits exactly this script.

enum DashboardAssets {
    /// `/assets/{file}` → its text and content type; nil for any other name (a 404).
    static func asset(named file: String) -> (text: String, contentType: String)? {
        switch file {
        case "dashboard.js": (script, "text/javascript; charset=utf-8")
        case "dashboard.css": (styleSheet, "text/css; charset=utf-8")
        default: nil
        }
    }

    /// Polls the job page's live route every 2 s while the job runs: updates its state, progress and ETA,
    /// appends metric points to the charts' tables and redraws their lines (the drawing of `MetricChart`:
    /// same area, same scaling), and appends log lines. Text goes in through `textContent`, never as markup.
    /// A metric that has no chart yet reloads the page, which draws it. Points and lines it already shows (by id)
    /// are skipped: a poll sends the newest again until they settle (`SettledCursor`). Stops once the job has
    /// finished and a poll brought nothing new.
    static let script = #"""
        "use strict";
        (function () {
          const job = document.getElementById("job");
          if (!job || job.dataset.finished === "true") return;
          const W = 640, H = 220, L = 70, R = 12, T = 12, B = 28, PERIOD_MS = 2000, LOG_LINES_MAX = 2000;
          let metricsAfter = job.dataset.metricsAfter, logsAfter = job.dataset.logsAfter, sawFinished = false;
          const known = new Set((job.dataset.series || "").split(",").filter(Boolean));
          const series = new Map();
          // Ids the page already shows: a poll sends the newest rows again until they settle (SettledCursor).
          const seenPoints = new Set(Array.from(document.querySelectorAll("figure.chart tbody tr"), (row) => row.dataset.id));
          const seenLines = new Set(Array.from(document.querySelectorAll("#logs span[data-id]"), (span) => span.dataset.id));

          function fmt(v) { return Number.isFinite(v) ? String(Number(v.toPrecision(6))) : String(v); }

          function figureOf(name) {
            for (const figure of document.querySelectorAll("figure.chart")) {
              if (figure.dataset.metric === name) return figure;
            }
            return null;
          }

          function pointsOf(figure) {
            if (!series.has(figure)) {
              const rows = figure.querySelectorAll("tbody tr");
              series.set(figure, Array.from(rows, (row) => ({ step: Number(row.dataset.step), value: Number(row.dataset.value) })));
            }
            return series.get(figure);
          }

          function redraw(figure, points) {
            const finite = points.filter((p) => Number.isFinite(p.value));
            const steps = points.map((p) => p.step), values = finite.map((p) => p.value);
            const minStep = Math.min(...steps), maxStep = Math.max(...steps);
            let low = values.length ? Math.min(...values) : 0, high = values.length ? Math.max(...values) : 1;
            if (high - low < 1e-12) { const band = Math.max(Math.abs(low) * 0.1, 1e-9); low -= band; high += band; }
            const span = Math.max(1, maxStep - minStep), plotW = W - L - R, plotH = H - T - B;
            const coordinates = finite.map((p) =>
              (L + (p.step - minStep) / span * plotW).toFixed(1) + "," + (T + (high - p.value) / (high - low) * plotH).toFixed(1));
            figure.querySelector("polyline").setAttribute("points", coordinates.join(" "));
            const set = (role, text) => { const node = figure.querySelector('[data-role="' + role + '"]'); if (node) node.textContent = text; };
            set("ymax", fmt(high)); set("ymin", fmt(low)); set("xmin", "step " + minStep); set("xmax", "step " + maxStep);
            set("count", String(points.length));
            const last = points[points.length - 1];
            figure.querySelector("desc").textContent = figure.dataset.metric + ": " + points.length + " points, steps " +
              minStep + " to " + maxStep + ", from " + fmt(low) + " to " + fmt(high) + ", latest " + fmt(last.value) + " at step " + last.step;
          }

          function addPoints(points) {
            const byName = new Map();
            for (const p of points) {
              if (seenPoints.has(String(p.id))) continue;
              if (!byName.has(p.name)) byName.set(p.name, []);
              byName.get(p.name).push(p);
            }
            for (const [name, added] of byName) {
              const figure = figureOf(name);
              if (!known.has(name) || !figure) { window.location.reload(); return -1; }
              const all = pointsOf(figure), body = figure.querySelector("tbody");
              for (const p of added) {
                all.push({ step: p.step, value: p.value });
                seenPoints.add(String(p.id));
                const row = document.createElement("tr");
                row.dataset.id = String(p.id); row.dataset.step = String(p.step); row.dataset.value = String(p.value);
                const step = document.createElement("td"); step.textContent = String(p.step);
                const value = document.createElement("td"); value.textContent = fmt(p.value);
                row.append(step, value); body.append(row);
              }
              all.sort((a, b) => a.step - b.step);
              redraw(figure, all);
            }
            return byName.size;
          }

          function addLines(lines) {
            const pre = document.getElementById("logs");
            const fresh = lines.filter((l) => !seenLines.has(String(l.id)));
            if (!pre || fresh.length === 0) return 0;
            const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
            for (const l of fresh) {
              seenLines.add(String(l.id));
              const span = document.createElement("span");
              span.dataset.id = String(l.id);
              span.textContent = l.text + "\n";
              pre.append(span);
            }
            while (pre.children.length > LOG_LINES_MAX) pre.firstElementChild.remove();
            if (atBottom) pre.scrollTop = pre.scrollHeight;
            return fresh.length;
          }

          function showState(d) {
            const state = document.getElementById("job-state");
            if (state) { state.textContent = d.state; state.className = "state state-" + d.state; }
            const bar = document.getElementById("job-progress");
            if (bar) bar.value = d.fraction;
            const percent = document.getElementById("job-progress-text");
            if (percent) percent.textContent = d.percent;
            const eta = document.getElementById("job-eta");
            if (eta) eta.textContent = d.eta;
            const pending = document.getElementById("job-pending");
            if (pending) pending.textContent = d.pendingReason || "—";
          }

          async function poll() {
            let again = true;
            try {
              const url = job.dataset.live + "?metricsAfter=" + encodeURIComponent(metricsAfter) + "&logsAfter=" + encodeURIComponent(logsAfter);
              const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
              if (response.status === 401) { window.location.assign("/login"); return; }
              if (response.ok) {
                const d = await response.json();
                showState(d);
                const newPoints = addPoints(d.points);
                if (newPoints < 0) return;
                const newLines = addLines(d.lines);
                metricsAfter = d.metricsAfter; logsAfter = d.logsAfter;
                job.dataset.metricsAfter = String(metricsAfter);
                const quiet = newPoints === 0 && newLines === 0;
                if (d.finished) {
                  if (quiet && sawFinished) { again = false; job.dataset.finished = "true"; }
                  sawFinished = true;
                }
              }
            } catch (error) {
              // The control plane restarting: try again at the next period.
            }
            if (again) window.setTimeout(poll, PERIOD_MS);
          }

          window.setTimeout(poll, PERIOD_MS);
        })();
        """#

    /// Contrast: body text #1a1a1a and links #0b4f9c on white (WCAG AA for normal text, over 7:1); a 3 px
    /// focus ring on everything focusable; state is a word, its colour only a second cue.
    static let styleSheet = """
        :root { color: #1a1a1a; background: #ffffff; font: 15px/1.45 system-ui, sans-serif; }
        body { margin: 0; }
        a { color: #0b4f9c; }
        a:focus, button:focus, input:focus, pre:focus, summary:focus, main:focus { outline: 3px solid #b34700; outline-offset: 2px; }
        .skip { position: absolute; left: -9999px; }
        .skip:focus { left: 8px; top: 8px; background: #ffffff; padding: 4px 8px; }
        header { display: flex; gap: 24px; align-items: center; padding: 8px 24px; background: #0f2a4a; color: #ffffff; }
        header a { color: #ffffff; }
        header a[aria-current="page"] { font-weight: 700; text-decoration-thickness: 3px; }
        header nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
        .brand { font-weight: 700; }
        .signout { margin-left: auto; display: flex; gap: 8px; align-items: center; }
        main { padding: 8px 24px 48px; max-width: 1400px; }
        h1 { font-size: 1.5rem; }
        h2 { font-size: 1.2rem; margin-top: 28px; }
        table { border-collapse: collapse; margin: 8px 0; }
        caption { text-align: left; font-weight: 600; padding: 4px 0; }
        th, td { border-bottom: 1px solid #c8c8c8; padding: 4px 10px; text-align: left; vertical-align: top; }
        thead th { background: #eef2f7; }
        code { font-size: 0.85rem; word-break: break-all; }
        pre#logs { background: #101418; color: #e8e8e8; padding: 8px; max-height: 320px; overflow: auto; font-size: 0.85rem; }
        .state { font-weight: 600; padding: 0 6px; border-radius: 4px; }
        .state-running, .state-active { background: #dbeafe; color: #0b3d91; }
        .state-succeeded, .state-ready { background: #dcfce7; color: #14532d; }
        .state-failed, .state-lost, .state-dead { background: #fee2e2; color: #7f1d1d; }
        .state-pending, .state-queued, .state-blocked, .state-draining { background: #fef3c7; color: #713f12; }
        .state-cancelled { background: #e5e7eb; color: #1f2937; }
        .why { font-size: 0.85rem; color: #444444; }
        .error { color: #8b0000; font-weight: 600; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
        dl.facts dt { font-weight: 600; }
        dl.facts dd { margin: 0; }
        figure.chart { display: inline-block; width: min(640px, 100%); margin: 8px 16px 8px 0; vertical-align: top; }
        figure.chart svg { width: 100%; height: auto; background: #fafafa; border: 1px solid #c8c8c8; }
        figure.chart figcaption { font-weight: 600; }
        .tick { font-size: 11px; fill: #333333; }
        .points { max-height: 240px; display: block; overflow: auto; }
        button { font: inherit; padding: 4px 12px; }
        button.danger { background: #8b0000; color: #ffffff; border: 0; border-radius: 4px; padding: 6px 14px; }
        form#login { display: grid; gap: 8px; max-width: 420px; }
        form#login input { font: inherit; padding: 6px; }
        .help { font-size: 0.85rem; color: #444444; }
        ul.attempts { margin: 0; padding-left: 18px; }
        progress { width: 120px; }
        """
}
