// The map of meaning: draws a WorkspaceMap (src/core/map/workspaceMap.ts) on a canvas and lets
// the user pan, zoom, hover, pick and step through points. Shared by the map tab, the sidebar and
// the standalone page that `nearby map --out` writes; it knows nothing of VS Code. Points are
// written straight into the pixels of an ImageData (100k points in a few milliseconds without a
// GPU); labels, marks and rings go on top with the 2-D context. Text from files only ever reaches
// the page through textContent or the canvas, never as HTML.
(function () {
  'use strict';

  // Categorical colours that read on dark and light backgrounds alike (Tableau 10, then two more).
  const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#86bcb6', '#d37295', '#a0cbe8'];
  const OTHER = '#8c8c8c';
  // Below this many pixels a side the map is hidden or collapsed, not small.
  const MIN_SIDE = 100;

  function cssColour(name, fallback) {
    const v = getComputedStyle(document.body).getPropertyValue(name).trim();
    return v || fallback;
  }

  function rgb(hex) {
    const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(hex);
    if (m) return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
    const c = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(hex);
    return c ? [Number(c[1]), Number(c[2]), Number(c[3])] : [128, 128, 128];
  }

  // ImageData pixels are RGBA bytes; on every little-endian machine a Uint32 reads them as ABGR.
  function packed([r, g, b]) {
    return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  }

  function mix(a, b, t) {
    return [0, 1, 2].map((i) => Math.round(a[i] * (1 - t) + b[i] * t));
  }

  function topFolder(map, p) {
    const file = map.files[map.points.file[p]];
    const slash = file.path.indexOf('/');
    const folder = slash < 0 ? '(top level)' : file.path.slice(0, slash);
    return map.roots.length > 1 ? `${baseName(map.roots[file.root])}/${folder}` : folder;
  }

  function baseName(p) {
    const parts = String(p).split(/[\\/]/).filter(Boolean);
    return parts[parts.length - 1] || String(p);
  }

  function kindOf(map, p) {
    const role = map.files[map.points.file[p]].role;
    if (role === 'test') return 'tests';
    if (role === 'example') return 'examples';
    if (role === 'generated' || role === 'vendored') return 'generated or vendored';
    if (role === 'config') return 'config';
    return map.points.doc[p] ? 'docs' : 'code';
  }

  const COLOUR_BY = {
    folder: topFolder,
    language: (map, p) => map.files[map.points.file[p]].language,
    kind: kindOf,
  };

  /**
   * A map drawn into `host` (an element; the canvas fills it). `options.onOpen(point)` is called
   * when a point is chosen (click or Enter), `options.onFocus(point | -1)` when the point under the
   * keyboard focus or the pointer changes, `options.label` names the canvas for screen readers.
   */
  function create(host, options) {
    options = options || {};
    const canvas = document.createElement('canvas');
    canvas.tabIndex = 0;
    canvas.className = 'map-canvas';
    canvas.setAttribute('role', 'application');
    canvas.setAttribute('aria-roledescription', 'map');
    canvas.setAttribute('aria-label', options.label || 'Map of the workspace by meaning. Arrow keys pan, plus and minus zoom, 0 resets, N and P step through highlighted points, Enter opens.');
    host.appendChild(canvas);
    const ctx = canvas.getContext('2d');

    let map = null;
    let n = 0;
    let xs = new Float32Array(0);
    let ys = new Float32Array(0);
    let colourOf = new Uint8Array(0);
    let categories = [];
    let colourBy = 'folder';
    let faded = new Uint8Array(0); // 1: outside the filter
    let filterText = '';
    let highlighted = []; // point indices, in rank order
    let highlightSet = new Set();
    let dupes = new Set();
    let source = null; // { x, y, point } of a Find Similar selection
    let focus = -1;
    let hover = -1;
    let grid = null;
    const view = { scale: 1, tx: 0, ty: 0 };
    let width = 0;
    let height = 0;
    let dpr = 1;
    let image = null;
    let pixels = null;
    let dirty = true;
    // The points the view was last fitted to (null: the whole map), fitted again when the map is shown.
    let framed = null;
    let frameRequested = false;
    const stats = { frames: 0, drawMs: [] };
    let theme = null;

    function readTheme() {
      const background = rgb(cssColour('--vscode-editor-background', cssColour('--map-background', '#1e1e1e')));
      const foreground = cssColour('--vscode-editor-foreground', cssColour('--map-foreground', '#cccccc'));
      const contrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
      theme = {
        background,
        backgroundPacked: packed(background),
        foreground,
        contrast,
        border: cssColour('--vscode-contrastBorder', '') || cssColour('--vscode-focusBorder', '#007fd4'),
        // Opaque and the same in every theme but high contrast: hits must stand out from every folder's colour.
        highlight: contrast ? cssColour('--vscode-contrastActiveBorder', '#f38518') : cssColour('--vscode-charts-orange', '#e8871e'),
        colours: PALETTE.map((c) => packed(rgb(c))),
        fadedColours: PALETTE.map((c) => packed(mix(rgb(c), background, 0.7))),
        other: packed(rgb(OTHER)),
        otherFaded: packed(mix(rgb(OTHER), background, 0.7)),
      };
    }

    function setData(next) {
      map = next;
      n = map.points.x.length;
      xs = Float32Array.from(map.points.x);
      ys = Float32Array.from(map.points.y);
      faded = new Uint8Array(n);
      highlighted = [];
      highlightSet = new Set();
      dupes = new Set();
      source = null;
      focus = -1;
      hover = -1;
      buildGrid();
      applyColours();
      applyFilter(filterText);
      reset();
    }

    function applyColours() {
      if (!map) return;
      const of = COLOUR_BY[colourBy] || topFolder;
      const counts = new Map();
      const keys = new Array(n);
      for (let p = 0; p < n; p++) {
        keys[p] = of(map, p);
        counts.set(keys[p], (counts.get(keys[p]) || 0) + 1);
      }
      // The largest categories get their own colour; the rest share grey.
      categories = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([name, count], i) => ({ name, count, colour: i < PALETTE.length ? PALETTE[i] : OTHER }));
      const index = new Map(categories.map((c, i) => [c.name, i < PALETTE.length ? i : 255]));
      colourOf = new Uint8Array(n);
      for (let p = 0; p < n; p++) colourOf[p] = index.get(keys[p]);
      redraw();
    }

    // Buckets of points over the unit square, for finding the point under the pointer.
    const CELLS = 128;
    function buildGrid() {
      grid = Array.from({ length: CELLS * CELLS }, () => []);
      for (let p = 0; p < n; p++) grid[cell(xs[p]) * CELLS + cell(ys[p])].push(p);
    }
    function cell(v) {
      return Math.max(0, Math.min(CELLS - 1, Math.floor(v * CELLS)));
    }

    function toScreen(p) {
      return [xs[p] * view.scale + view.tx, ys[p] * view.scale + view.ty];
    }

    function pointAt(sx, sy, radius) {
      if (!map) return -1;
      const ux = (sx - view.tx) / view.scale;
      const uy = (sy - view.ty) / view.scale;
      const r = radius / view.scale;
      let best = -1;
      let bestD = r * r;
      for (let cx = cell(ux - r); cx <= cell(ux + r); cx++) {
        for (let cy = cell(uy - r); cy <= cell(uy + r); cy++) {
          for (const p of grid[cx * CELLS + cy]) {
            const dx = xs[p] - ux;
            const dy = ys[p] - uy;
            const d = dx * dx + dy * dy;
            if (d <= bestD && !(faded[p] && highlightSet.size === 0 && filterText)) {
              bestD = d;
              best = p;
            }
          }
        }
      }
      return best;
    }

    function resize() {
      const rect = host.getBoundingClientRect();
      dpr = Math.min(window.devicePixelRatio || 1, 2);
      const w = Math.floor(rect.width);
      const h = Math.floor(rect.height);
      // A hidden map (a background tab, a closed section) measures next to nothing: keep the view it had.
      if (w < MIN_SIDE || h < MIN_SIDE || (w === width && h === height && image)) return;
      const first = width === 0;
      const old = { w: width, h: height };
      width = w;
      height = h;
      canvas.width = Math.floor(w * dpr);
      canvas.height = Math.floor(h * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
      image = ctx.createImageData(canvas.width, canvas.height);
      pixels = new Uint32Array(image.data.buffer);
      if (framed) frame(framed);
      else if (first) reset();
      else {
        // Keep the centre where it was.
        view.tx += (w - old.w) / 2;
        view.ty += (h - old.h) / 2;
      }
      redraw();
    }

    function reset() {
      framed = null;
      const side = Math.min(width, height) || 1;
      view.scale = side;
      view.tx = (width - side) / 2;
      view.ty = (height - side) / 2;
      redraw();
    }

    function zoom(factor, sx, sy) {
      const next = Math.max(Math.min(view.scale * factor, Math.min(width, height) * 400), Math.min(width, height) * 0.25);
      const f = next / view.scale;
      view.tx = sx - (sx - view.tx) * f;
      view.ty = sy - (sy - view.ty) * f;
      view.scale = next;
      redraw();
    }

    function pan(dx, dy) {
      view.tx += dx;
      view.ty += dy;
      redraw();
    }

    function redraw() {
      dirty = true;
      if (frameRequested) return;
      frameRequested = true;
      requestAnimationFrame(() => {
        frameRequested = false;
        if (dirty) draw();
      });
    }

    function draw() {
      dirty = false;
      if (!image) return;
      const started = performance.now();
      const W = canvas.width;
      const H = canvas.height;
      pixels.fill(theme.backgroundPacked);
      const s = view.scale * dpr;
      const tx = view.tx * dpr;
      const ty = view.ty * dpr;
      // Points grow a little as the user zooms in, and when there are few of them.
      const zoomed = view.scale / Math.min(width, height);
      const base = n > 30000 ? 1 : n > 5000 ? 1.5 : 2;
      const r = Math.max(1, Math.min(Math.round((base + Math.log2(Math.max(zoomed, 1)) * 0.75) * dpr), 6 * dpr));
      const dim = highlightSet.size > 0 || source !== null;
      const colours = theme.colours;
      const fadedColours = theme.fadedColours;
      for (let pass = 0; pass < 2; pass++) {
        // Faded points first, so the ones that matter are drawn over them.
        for (let p = 0; p < n; p++) {
          const isFaded = faded[p] === 1 || (dim && !highlightSet.has(p));
          if ((pass === 0) !== isFaded) continue;
          const px = Math.round(xs[p] * s + tx);
          const py = Math.round(ys[p] * s + ty);
          if (px < -r || py < -r || px >= W + r || py >= H + r) continue;
          const c = colourOf[p];
          const colour = isFaded ? (c === 255 ? theme.otherFaded : fadedColours[c]) : c === 255 ? theme.other : colours[c];
          const x0 = Math.max(px - r + 1, 0);
          const x1 = Math.min(px + r, W);
          const y0 = Math.max(py - r + 1, 0);
          const y1 = Math.min(py + r, H);
          for (let y = y0; y < y1; y++) {
            const row = y * W;
            for (let x = x0; x < x1; x++) pixels[row + x] = colour;
          }
        }
      }
      ctx.putImageData(image, 0, 0);
      ctx.save();
      ctx.scale(dpr, dpr);
      drawMarks();
      drawLabels();
      ctx.restore();
      stats.frames++;
      stats.drawMs.push(performance.now() - started);
      if (stats.drawMs.length > 600) stats.drawMs.splice(0, 300);
    }

    function drawMarks() {
      ctx.lineWidth = theme.contrast ? 2 : 1.5;
      if (dupes.size > 0) {
        ctx.strokeStyle = theme.foreground;
        ctx.globalAlpha = 0.7;
        for (const p of dupes) {
          const [x, y] = toScreen(p);
          if (x < -8 || y < -8 || x > width + 8 || y > height + 8) continue;
          ctx.beginPath();
          ctx.moveTo(x, y - 5);
          ctx.lineTo(x + 5, y);
          ctx.lineTo(x, y + 5);
          ctx.lineTo(x - 5, y);
          ctx.closePath();
          ctx.stroke();
        }
        ctx.globalAlpha = 1;
      }
      if (source) {
        const sx = source.x * view.scale + view.tx;
        const sy = source.y * view.scale + view.ty;
        ctx.strokeStyle = theme.highlight;
        ctx.globalAlpha = 0.6;
        for (const p of highlighted) {
          const [x, y] = toScreen(p);
          ctx.beginPath();
          ctx.moveTo(sx, sy);
          ctx.lineTo(x, y);
          ctx.stroke();
        }
        ctx.globalAlpha = 1;
        star(sx, sy, 9);
      }
      ctx.font = `600 10px ${cssColour('--vscode-font-family', 'sans-serif')}`;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      highlighted.forEach((p, rank) => {
        const [x, y] = toScreen(p);
        const top = rank < 9;
        ctx.beginPath();
        ctx.arc(x, y, top ? 7 : 4, 0, Math.PI * 2);
        ctx.fillStyle = theme.highlight;
        ctx.fill();
        ctx.strokeStyle = `rgb(${theme.background.join(',')})`;
        ctx.stroke();
        if (top) {
          ctx.fillStyle = `rgb(${theme.background.join(',')})`;
          ctx.fillText(String(rank + 1), x, y + 0.5);
        }
      });
      for (const [p, radius] of [[hover, 6], [focus, 8]]) {
        if (p < 0) continue;
        const [x, y] = toScreen(p);
        ctx.beginPath();
        ctx.arc(x, y, radius, 0, Math.PI * 2);
        ctx.strokeStyle = theme.contrast ? theme.border : theme.foreground;
        ctx.lineWidth = 2;
        ctx.stroke();
      }
    }

    function star(x, y, radius) {
      ctx.beginPath();
      for (let i = 0; i < 10; i++) {
        const a = (Math.PI / 5) * i - Math.PI / 2;
        const r = i % 2 === 0 ? radius : radius / 2.4;
        ctx[i === 0 ? 'moveTo' : 'lineTo'](x + r * Math.cos(a), y + r * Math.sin(a));
      }
      ctx.closePath();
      ctx.fillStyle = theme.highlight;
      ctx.fill();
      ctx.strokeStyle = theme.foreground;
      ctx.lineWidth = 1.5;
      ctx.stroke();
    }

    function regionName(region) {
      return region.terms.length > 0 ? region.terms.join(' · ') : region.symbols.slice(0, 2).join(' · ');
    }

    // Region names, the largest first, each only where it does not cover another.
    function drawLabels() {
      if (!map || !options.labels) return;
      const zoomed = view.scale / Math.min(width, height);
      const mapped = map.regions.reduce((sum, r) => sum + r.size, 0);
      const minSize = mapped / (map.regions.length * 3 * zoomed);
      ctx.font = `600 12px ${cssColour('--vscode-font-family', 'sans-serif')}`;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      const placed = [];
      const order = map.regions.map((r, i) => i).sort((a, b) => map.regions[b].size - map.regions[a].size);
      for (const i of order) {
        const region = map.regions[i];
        const name = regionName(region);
        if (!name || region.size < minSize) continue;
        const x = region.x * view.scale + view.tx;
        const y = region.y * view.scale + view.ty;
        const w = ctx.measureText(name).width + 8;
        const box = [x - w / 2, y - 9, x + w / 2, y + 9];
        if (box[0] < 0 || box[2] > width || box[1] < 0 || box[3] > height) continue;
        if (placed.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
        placed.push(box);
        ctx.lineWidth = 4;
        ctx.lineJoin = 'round';
        ctx.strokeStyle = `rgba(${theme.background.join(',')},0.85)`;
        ctx.strokeText(name, x, y);
        ctx.fillStyle = theme.foreground;
        ctx.fillText(name, x, y);
      }
    }

    function applyFilter(text) {
      filterText = (text || '').trim().toLowerCase();
      if (!map) return 0;
      let shown = 0;
      for (let p = 0; p < n; p++) {
        const path = map.files[map.points.file[p]].path.toLowerCase();
        const keep = !filterText || path.includes(filterText) || globMatch(filterText, path);
        faded[p] = keep ? 0 : 1;
        if (keep) shown++;
      }
      redraw();
      return shown;
    }

    function globMatch(glob, path) {
      if (!/[*?]/.test(glob)) return false;
      const re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\/?/g, '\u0000').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0000/g, '.*')}$`);
      return re.test(path);
    }

    /** The map's point for a location: the chunk of that file that overlaps the range the most. */
    function pointOf(loc) {
      if (!map) return -1;
      let best = -1;
      let bestOverlap = 0;
      for (let p = 0; p < n; p++) {
        const file = map.files[map.points.file[p]];
        if (file.path !== loc.path || (loc.root !== undefined && map.roots[file.root] !== loc.root)) continue;
        const overlap = Math.min(map.points.end[p], loc.end) - Math.max(map.points.start[p], loc.start) + 1;
        if (overlap > bestOverlap) {
          bestOverlap = overlap;
          best = p;
        }
      }
      return best;
    }

    /** Lights up `locations` (search hits, best first); with `from`, draws them as its neighbourhood. Returns how many are on the map. */
    function highlight(locations, from) {
      highlighted = [];
      for (const loc of locations || []) {
        const p = pointOf(loc);
        if (p >= 0 && !highlighted.includes(p)) highlighted.push(p);
      }
      highlightSet = new Set(highlighted);
      source = null;
      if (from) {
        const p = pointOf(from);
        if (p >= 0) source = { x: xs[p], y: ys[p], point: p };
        else if (highlighted.length > 0) {
          // An unsaved selection has no point of its own: it sits among its nearest hits.
          const near = highlighted.slice(0, 3);
          source = { x: near.reduce((s, q) => s + xs[q], 0) / near.length, y: near.reduce((s, q) => s + ys[q], 0) / near.length, point: -1 };
        }
      }
      focus = -1;
      if (highlighted.length > 0) frame([...highlighted, ...(source && source.point >= 0 ? [source.point] : [])]);
      redraw();
      return highlighted.length;
    }

    function markDupes(locations) {
      dupes = new Set();
      for (const loc of locations || []) {
        const p = pointOf(loc);
        if (p >= 0) dupes.add(p);
      }
      redraw();
      return dupes.size;
    }

    /** Zooms so that the points fill most of the view (never closer than 8x); done again once a hidden map is shown. */
    function frame(points) {
      if (points.length === 0) return;
      framed = points;
      if (width < MIN_SIDE || height < MIN_SIDE) return;
      let x0 = Infinity;
      let y0 = Infinity;
      let x1 = -Infinity;
      let y1 = -Infinity;
      for (const p of points) {
        x0 = Math.min(x0, xs[p]);
        y0 = Math.min(y0, ys[p]);
        x1 = Math.max(x1, xs[p]);
        y1 = Math.max(y1, ys[p]);
      }
      const side = Math.min(width, height) || 1;
      const span = Math.max(x1 - x0, y1 - y0, 1 / 8);
      view.scale = Math.min((side * 0.8) / span, side * 8);
      view.tx = width / 2 - ((x0 + x1) / 2) * view.scale;
      view.ty = height / 2 - ((y0 + y1) / 2) * view.scale;
      redraw();
    }

    function frameRegion(i) {
      if (!map) return;
      const members = [];
      for (let p = 0; p < n; p++) if (map.points.region[p] === i) members.push(p);
      frame(members);
    }

    function setFocus(p) {
      focus = p;
      if (p >= 0) {
        const [x, y] = toScreen(p);
        if (x < 20 || y < 20 || x > width - 20 || y > height - 20) {
          view.tx += width / 2 - x;
          view.ty += height / 2 - y;
        }
      }
      redraw();
      if (options.onFocus) options.onFocus(p);
    }

    // The points that N and P step through: the highlighted ones, or every point shown, left to right.
    function stepOrder() {
      if (highlighted.length > 0) return highlighted;
      const order = [];
      for (let p = 0; p < n; p++) if (!faded[p]) order.push(p);
      return order.sort((a, b) => xs[a] - xs[b] || ys[a] - ys[b]);
    }

    function step(direction) {
      const order = stepOrder();
      if (order.length === 0) return;
      const at = order.indexOf(focus);
      setFocus(order[(at + direction + order.length) % order.length]);
    }

    // Pointer: drag pans, the wheel zooms at the pointer, a click opens, hovering names the point.
    let drag = null;
    canvas.addEventListener('pointerdown', (e) => {
      canvas.focus();
      drag = { x: e.clientX, y: e.clientY, moved: false };
      try {
        canvas.setPointerCapture(e.pointerId);
      } catch {
        // A pointer the browser does not track (a synthetic event) is simply not captured.
      }
    });
    canvas.addEventListener('pointermove', (e) => {
      const rect = canvas.getBoundingClientRect();
      if (drag) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
        drag.x = e.clientX;
        drag.y = e.clientY;
        if (drag.moved) pan(dx, dy);
        return;
      }
      const p = pointAt(e.clientX - rect.left, e.clientY - rect.top, 8);
      if (p !== hover) {
        hover = p;
        redraw();
        if (options.onHover) options.onHover(p, e.clientX - rect.left, e.clientY - rect.top);
      }
    });
    canvas.addEventListener('pointerleave', () => {
      if (hover >= 0) {
        hover = -1;
        redraw();
        if (options.onHover) options.onHover(-1, 0, 0);
      }
    });
    canvas.addEventListener('pointerup', (e) => {
      const wasDrag = drag && drag.moved;
      drag = null;
      if (wasDrag) return;
      const rect = canvas.getBoundingClientRect();
      const p = pointAt(e.clientX - rect.left, e.clientY - rect.top, 8);
      if (p >= 0) {
        setFocus(p);
        if (options.onOpen) options.onOpen(p);
      }
    });
    canvas.addEventListener('wheel', (e) => {
      e.preventDefault();
      const rect = canvas.getBoundingClientRect();
      zoom(Math.exp(-e.deltaY * 0.0015), e.clientX - rect.left, e.clientY - rect.top);
    }, { passive: false });
    canvas.addEventListener('keydown', (e) => {
      const stepPx = 60;
      const keys = {
        ArrowLeft: () => pan(stepPx, 0),
        ArrowRight: () => pan(-stepPx, 0),
        ArrowUp: () => pan(0, stepPx),
        ArrowDown: () => pan(0, -stepPx),
        '+': () => zoom(1.4, width / 2, height / 2),
        '=': () => zoom(1.4, width / 2, height / 2),
        '-': () => zoom(1 / 1.4, width / 2, height / 2),
        0: reset,
        n: () => step(1),
        p: () => step(-1),
        Enter: () => focus >= 0 && options.onOpen && options.onOpen(focus),
        Escape: () => setFocus(-1),
      };
      const run = keys[e.key];
      if (run) {
        e.preventDefault();
        run();
      }
    });

    new ResizeObserver(resize).observe(host);
    document.addEventListener('visibilitychange', resize);
    // The theme can change while the map is open: VS Code swaps the body's classes.
    new MutationObserver(() => {
      readTheme();
      applyColours();
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    readTheme();

    return {
      canvas,
      setData,
      highlight,
      markDupes,
      frameRegion,
      reset,
      zoom,
      pan,
      setFilter: applyFilter,
      setColourBy(mode) {
        colourBy = mode;
        applyColours();
      },
      get categories() {
        return categories;
      },
      get data() {
        return map;
      },
      regionName,
      focusPoint: setFocus,
      stats,
    };
  }

  window.NearbyMap = { create };
})();
