import { randomBytes } from 'node:crypto';
import type { WorkspaceMap } from './workspaceMap';

/**
 * The map's page: one body for the map tab in VS Code and for the standalone file that
 * `nearby map --out` writes (media/mapRender.js draws, media/mapView.js wires the controls).
 */
export function mapPageBody(): string {
  return `<header>
  <form id="search-form" role="search" aria-label="Light up a search on the map">
    <label class="visually-hidden" for="q">Search</label>
    <input id="q" type="search" placeholder="Search, and see where the hits fall" autocomplete="off" spellcheck="false">
  </form>
  <label class="visually-hidden" for="colour">Colour by</label>
  <select id="colour" aria-label="Colour points by">
    <option value="folder">Colour by folder</option>
    <option value="language">Colour by language</option>
    <option value="kind">Colour by kind (code, docs, tests)</option>
  </select>
  <label class="visually-hidden" for="filter">Folder or file filter</label>
  <input id="filter" type="text" placeholder="Fade all but: folder, file or glob" aria-label="Fade all but a folder, file or glob" autocomplete="off" spellcheck="false">
  <span id="filter-count" aria-live="polite"></span>
  <label class="check"><input id="show-dupes" type="checkbox"> Near-duplicates</label>
  <button id="reset" type="button" title="Fit the whole map (0)">Fit</button>
  <button id="refresh" type="button" title="Lay the map out again">Refresh</button>
</header>
<div id="hits-heading" aria-live="polite"></div>
<main>
  <div id="map"><div id="tooltip" role="tooltip" hidden></div></div>
  <aside aria-label="About the map">
    <h2>Point</h2>
    <div id="info" aria-live="polite"><span class="muted">Hover or click a point; with the map focused, N and P step through points and Enter opens one.</span></div>
    <h2>Colours</h2>
    <ul id="legend"></ul>
    <h2>Regions</h2>
    <ul id="regions" aria-label="Regions: choose one to zoom to it"></ul>
  </aside>
</main>
<footer><div id="notice" class="notice" role="note" hidden></div><span id="status" role="status">Laying out the map…</span></footer>
<div id="announce" class="visually-hidden" aria-live="polite"></div>`;
}

/** A page that shows `map` with no network and no extension: styles, scripts and data inline, locked by its own CSP. */
export function standaloneMapHtml(map: WorkspaceMap, assets: { css: string; render: string; view: string }, title: string): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = [`default-src 'none'`, `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`].join('; ');
  // `<` escaped so that no text in the data (a path, a symbol) can close the script element.
  const data = JSON.stringify(map).replace(/</g, '\\u003c');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${assets.css}</style>
</head>
<body>
${mapPageBody()}
<script type="application/json" id="map-data">${data}</script>
<script nonce="${nonce}">${assets.render}</script>
<script nonce="${nonce}">${assets.view}</script>
</body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
