// The map tab (and the standalone page of `nearby map --out`): search box, colouring, filter,
// legend, regions and the point under the pointer around the canvas of mapRender.js. Inside VS Code
// it talks to the extension, which checks every message; standalone it reads the map from the
// page and searches paths, symbols and region names only (there is no model in a web page).
(function () {
  'use strict';
  const vscode = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : null;
  const $ = (id) => document.getElementById(id);
  const status = $('status');
  const notice = $('notice');
  const info = $('info');
  const tooltip = $('tooltip');
  const legend = $('legend');
  const regionsList = $('regions');
  const heading = $('hits-heading');
  const saved = (vscode && vscode.getState()) || {};

  const view = window.NearbyMap.create($('map'), {
    labels: true,
    onOpen: open,
    onFocus: (p) => {
      focused = p;
      describe(info, p, true);
      if (p >= 0 && vscode) vscode.postMessage({ type: 'preview', ...location(p) });
    },
    onHover: (p, x, y) => {
      clearTimeout(previewTimer);
      hovered = p;
      if (p < 0) {
        tooltip.hidden = true;
        return;
      }
      describe(tooltip, p, false);
      tooltip.hidden = false;
      tooltipAt = { x, y };
      placeTooltip();
      // The chunk's own lines, read by the extension, once the pointer rests on it.
      if (vscode) previewTimer = setTimeout(() => vscode.postMessage({ type: 'preview', ...location(p) }), 150);
    },
  });

  let hovered = -1;
  let focused = -1;
  let previewTimer;
  let tooltipAt = { x: 0, y: 0 };

  function placeTooltip() {
    const host = $('map').getBoundingClientRect();
    tooltip.style.left = `${Math.max(4, Math.min(tooltipAt.x + 14, host.width - tooltip.offsetWidth - 4))}px`;
    tooltip.style.top = `${Math.max(4, Math.min(tooltipAt.y + 14, host.height - tooltip.offsetHeight - 4))}px`;
  }

  /** The chunk's lines under the tooltip and in the Point box, if the point they were asked for is still the one shown. */
  function showPreview(m) {
    const same = (p) => {
      if (p < 0) return false;
      const loc = location(p);
      return loc.path === m.location.path && loc.start === m.location.start && loc.root === m.location.root;
    };
    for (const [box, p] of [[tooltip, hovered], [info, focused]]) {
      if (!same(p) || box.querySelector('.preview')) continue;
      const pre = document.createElement('pre');
      pre.className = 'preview';
      pre.textContent = m.lines.join('\n');
      box.appendChild(pre);
    }
    if (same(hovered)) placeTooltip();
  }

  function location(p) {
    const m = view.data;
    const file = m.files[m.points.file[p]];
    return { root: m.roots[file.root], path: file.path, start: m.points.start[p], end: m.points.end[p] };
  }

  function open(p) {
    const loc = location(p);
    if (vscode) vscode.postMessage({ type: 'open', ...loc });
    else describe(info, p, true);
  }

  /** Fills `box` with a point's place, symbol and region, as text nodes only. */
  function describe(box, p, announce) {
    box.textContent = '';
    if (p < 0 || !view.data) return;
    const m = view.data;
    const loc = location(p);
    const title = document.createElement('div');
    title.className = 'info-title';
    title.textContent = `${loc.path}:${loc.start}-${loc.end}`;
    box.appendChild(title);
    const symbol = m.points.symbol[p];
    const region = m.regions[m.points.region[p]];
    const lines = [];
    if (symbol) lines.push(symbol);
    lines.push(`${m.files[m.points.file[p]].language}${m.points.doc[p] ? ' docs' : ''}${m.files[m.points.file[p]].role !== 'source' && m.files[m.points.file[p]].role !== 'docs' ? ` · ${m.files[m.points.file[p]].role}` : ''}`);
    if (region) lines.push(`region: ${view.regionName(region)}`);
    for (const line of lines) {
      const div = document.createElement('div');
      div.className = 'info-line';
      div.textContent = line;
      box.appendChild(div);
    }
    if (announce) $('announce').textContent = `${title.textContent}${symbol ? `, ${symbol}` : ''}`;
  }

  function renderLegend() {
    legend.textContent = '';
    for (const c of view.categories.slice(0, 13)) {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = c.colour;
      const name = document.createElement('span');
      name.textContent = `${c.name} (${c.count})`;
      li.append(swatch, name);
      legend.appendChild(li);
    }
    if (view.categories.length > 13) {
      const li = document.createElement('li');
      li.textContent = `and ${view.categories.length - 13} more in grey`;
      legend.appendChild(li);
    }
  }

  function renderRegions() {
    regionsList.textContent = '';
    const m = view.data;
    const order = m.regions.map((r, i) => i).sort((a, b) => m.regions[b].size - m.regions[a].size);
    for (const i of order) {
      const region = m.regions[i];
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'region';
      button.textContent = `${view.regionName(region) || 'unnamed'} (${region.size})`;
      if (region.symbols.length > 0) button.title = `e.g. ${region.symbols.join(', ')}`;
      button.addEventListener('click', () => view.frameRegion(i));
      li.appendChild(button);
      regionsList.appendChild(li);
    }
  }

  function show(m) {
    view.setData(m);
    view.setColourBy($('colour').value);
    view.setFilter($('filter').value);
    renderLegend();
    renderRegions();
    const secs = (m.build.ms.total / 1000).toFixed(1);
    const how = m.build.cached ? `from the cache${m.build.placed > 0 ? `, ${m.build.placed} new chunks placed` : ''}` : 'laid out afresh';
    status.textContent = `${m.shown.toLocaleString()} chunks in ${m.files.length.toLocaleString()} files · ${m.regions.length} regions · ${Math.round(m.quality.preservation * 100)}% of nearest neighbours kept · ready in ${secs} s (${how})`;
    notice.hidden = !m.notice;
    notice.textContent = m.notice || '';
    if ($('q').value.trim()) search($('q').value);
    // A map made again (Refresh, or the page reloaded) keeps its marks.
    if (vscode && $('show-dupes').checked) vscode.postMessage({ type: 'dupes' });
  }

  function search(query) {
    query = query.trim();
    if (vscode) vscode.setState({ ...(vscode.getState() || {}), query });
    if (!query) {
      view.highlight([]);
      heading.textContent = '';
      return;
    }
    if (vscode) {
      heading.textContent = 'Searching…';
      vscode.postMessage({ type: 'search', query });
      return;
    }
    // Standalone: paths, symbols and region names that contain every word of the query.
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const m = view.data;
    const hits = [];
    for (let p = 0; p < m.points.x.length && hits.length < 50; p++) {
      const region = m.regions[m.points.region[p]];
      const text = `${m.files[m.points.file[p]].path} ${m.points.symbol[p]} ${region ? region.terms.join(' ') : ''}`.toLowerCase();
      if (words.every((w) => text.includes(w))) hits.push(location(p));
    }
    const shown = view.highlight(hits);
    heading.textContent = `${shown} chunks whose path, symbol or region name matches (this page has no model: search by meaning in VS Code or with nearby search)`;
  }

  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    search($('q').value);
  });
  $('colour').addEventListener('change', () => {
    view.setColourBy($('colour').value);
    renderLegend();
    if (vscode) vscode.setState({ ...(vscode.getState() || {}), colour: $('colour').value });
  });
  $('filter').addEventListener('input', () => {
    const shown = view.setFilter($('filter').value);
    $('filter-count').textContent = $('filter').value.trim() ? `${shown} shown` : '';
  });
  $('reset').addEventListener('click', () => view.reset());
  const dupesBox = $('show-dupes');
  dupesBox.addEventListener('change', () => {
    if (!dupesBox.checked) view.markDupes([]);
    else if (vscode) vscode.postMessage({ type: 'dupes' });
  });
  if (!vscode) dupesBox.parentElement.hidden = true;
  const refresh = $('refresh');
  if (vscode) refresh.addEventListener('click', () => {
    status.textContent = 'Laying out the map…';
    vscode.postMessage({ type: 'refresh' });
  });
  else refresh.hidden = true;
  if (saved.colour) $('colour').value = saved.colour;
  $('q').value = saved.query || '';

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'map':
        show(m.map);
        break;
      case 'mapError':
        status.textContent = `The map could not be made: ${m.message}`;
        break;
      case 'status':
        status.textContent = m.text;
        break;
      case 'hits': {
        const shown = view.highlight(m.hits);
        heading.textContent = m.hits.length === 0 ? `No results for “${m.query}”.` : `${m.hits.length} results for “${m.query}”; ${shown} on the map, numbered by rank (N / P step through them).`;
        if (m.notice) heading.textContent += ` ${m.notice}`;
        break;
      }
      case 'similar': {
        $('q').value = '';
        const shown = view.highlight(m.hits, m.source);
        heading.textContent = `Like ${m.source.path}:${m.source.start}-${m.source.end} (the star): ${shown} neighbours on the map.`;
        break;
      }
      case 'preview':
        showPreview(m);
        break;
      case 'dupes': {
        const marked = dupesBox.checked ? view.markDupes(m.members) : 0;
        heading.textContent = `${m.groups} near-duplicate groups; ${marked} of their chunks marked with a diamond.`;
        break;
      }
    }
  });

  // Frames drawn and their times, read by the frame-rate test (test/e2e/mapRender.e2e.mjs).
  window.nearbyMapStats = view.stats;
  if (vscode) vscode.postMessage({ type: 'ready' });
  else {
    const data = $('map-data');
    if (data) show(JSON.parse(data.textContent));
  }
})();
