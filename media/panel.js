// Nearby sidebar. Every piece of text from files or paths is inserted with textContent, never
// as HTML, so a file named `<img onerror=...>` or a snippet with `<script>` stays inert text.
(function () {
  const vscode = acquireVsCodeApi();
  const $ = (id) => document.getElementById(id);
  const q = $('q');
  const language = $('language');
  const kind = $('kind');
  const glob = $('glob');
  const roles = $('roles');
  const held = $('held');
  const heldText = $('held-text');
  const list = $('results');
  const notice = $('notice');
  const heading = $('heading');
  const empty = $('empty');
  const status = $('status');
  const saved = vscode.getState() || {};
  let seq = 0;
  let timer;
  let shownSeq = null;

  q.value = saved.query || '';
  language.value = saved.language || '';
  kind.value = saved.kind || '';
  glob.value = saved.glob || '';
  roles.value = saved.roles || '';

  function search(now) {
    clearTimeout(timer);
    const run = () => {
      const query = q.value.trim();
      vscode.setState({ query: q.value, language: language.value, kind: kind.value, glob: glob.value, roles: roles.value });
      if (query.length < 2) return;
      seq += 1;
      heading.textContent = 'Searching…';
      const include = roles.value ? roles.value.split(',') : [];
      vscode.postMessage({ type: 'search', seq, query, filters: { language: language.value, kind: kind.value, glob: glob.value.trim(), include } });
    };
    if (now) run();
    else timer = setTimeout(run, 250);
  }

  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    search(true);
  });
  q.addEventListener('input', () => search(false));
  glob.addEventListener('input', () => search(false));
  language.addEventListener('change', () => search(true));
  kind.addEventListener('change', () => search(true));
  roles.addEventListener('change', () => search(true));
  $('held-show').addEventListener('click', () => {
    roles.value = 'test,example,config,generated,vendored';
    search(true);
  });
  // The form has two text fields and no submit button, so the browser never submits it on Enter.
  for (const field of [q, glob]) {
    field.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter') return;
      e.preventDefault();
      search(true);
    });
  }
  q.addEventListener('keydown', (e) => {
    const first = list.querySelector('.hit');
    if (e.key === 'ArrowDown' && first) {
      e.preventDefault();
      first.focus();
    }
  });

  // Words too common to be worth marking in a snippet.
  const STOPWORDS = new Set(['the', 'and', 'for', 'with', 'from', 'that', 'this', 'into', 'are', 'was', 'how', 'what', 'where', 'when', 'which', 'does', 'our', 'its', 'all', 'can', 'not']);

  function terms(query) {
    return [...new Set(query.toLowerCase().split(/[^a-z0-9]+/).filter((t) => t.length >= 3 && !STOPWORDS.has(t)))];
  }

  function caseless(term) {
    return term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
  }

  /**
   * Appends `text` to `parent`, wrapping terms in <mark>; all text nodes, no HTML. A term marks the
   * start of a word or of an identifier part: "config" in load_config and loadConfig, not "and" in handle.
   */
  function appendHighlighted(parent, text, words) {
    if (words.length === 0) {
      parent.textContent = text;
      return;
    }
    const alternatives = words.flatMap((w) => [`(?<![A-Za-z])${caseless(w)}`, `(?<=[a-z])${caseless(w[0]).replace(/\[(.)(.)\]/, '$2')}${caseless(w.slice(1))}`]);
    const pattern = new RegExp(alternatives.join('|'), 'g');
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      const mark = document.createElement('mark');
      mark.textContent = match[0];
      parent.appendChild(mark);
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function explain(hit, mode) {
    if (mode === 'similar') return `similarity ${hit.score.toFixed(2)}` + (hit.shapeScore !== undefined ? `\nmeaning: cosine ${hit.vectorScore.toFixed(2)}\nshape: ${hit.shapeScore.toFixed(2)} (the same tokens in the same order, and the same structure under other names)` : '');
    const parts = [hit.band ? `${hit.band} match: ${Math.round(hit.relevance * 100)}% likely relevant (calibrated on held-out questions)` : `rank score ${hit.score.toFixed(2)} (keywords and meaning; this model has no calibration)`];
    if (hit.vectorScore !== undefined) parts.push(`meaning: cosine ${hit.vectorScore.toFixed(2)}`);
    parts.push(hit.matched && hit.matched.length ? `keywords: ${hit.matched.join(', ')}` : 'keywords: none');
    return parts.join('\n');
  }

  /** A Find Similar hit the near-duplicate detectors would group with the selection: what kind, and a diff. */
  function likenessBadge(hit, source) {
    const { kind, similarity, lines } = hit.likeness;
    const wrap = document.createElement('div');
    wrap.className = 'hit-dupe';
    const badge = document.createElement('span');
    badge.className = `group-kind ${kind}`;
    badge.textContent = `${kind === 'textual' ? 'textual clone' : 'near-duplicate'} ${similarity.toFixed(2)}`;
    badge.title = kind === 'textual' ? `${lines} lines of the same code, possibly renamed: share of identical tokens` : 'same meaning, written differently: cosine similarity at the near-duplicate threshold';
    wrap.append(badge);
    if (source) {
      const compare = document.createElement('button');
      compare.type = 'button';
      compare.className = 'compare';
      compare.textContent = 'Compare';
      compare.setAttribute('aria-label', `Compare ${hit.path}:${hit.start} with the selection`);
      compare.addEventListener('click', (e) => {
        e.stopPropagation();
        vscode.postMessage({ type: 'compare', a: source, b: location(hit) });
      });
      compare.addEventListener('keydown', (e) => e.stopPropagation());
      wrap.append(compare);
    }
    return wrap;
  }

  /** The preview's lines, with a marker where lines were left out between two of them. */
  function previewText(hit) {
    const lines = hit.preview.split('\n').slice(0, 8);
    const at = Array.isArray(hit.previewAt) ? hit.previewAt : [];
    const out = [];
    lines.forEach((line, i) => {
      if (i > 0 && at[i] > at[i - 1] + 1) out.push('⋯');
      out.push(line);
    });
    return out.join('\n');
  }

  /** The next (or previous) hit, past the line that marks weak matches. */
  function sibling(item, direction) {
    let next = item[direction];
    while (next && !next.classList.contains('hit')) next = next[direction];
    return next;
  }

  function open(hit) {
    vscode.postMessage({ type: 'open', root: hit.root, path: hit.path, start: hit.start, end: hit.end });
  }

  function render(message) {
    shownSeq = message.seq;
    list.replaceChildren();
    const queryWords = message.mode === 'search' ? terms(message.query) : [];
    const multiRoot = new Set(message.hits.map((h) => h.root)).size > 1;
    heading.textContent = message.mode === 'similar' ? message.title : message.hits.length ? `${message.hits.length} results` : '';
    notice.textContent = message.notice || '';
    notice.hidden = !message.notice;
    const heldBack = Object.entries(message.heldBack || {}).filter(([, n]) => n > 0);
    heldText.textContent = heldBack.length ? `Held back: ${heldBack.map(([role, n]) => `${n} ${role}`).join(', ')} ${heldBack.length === 1 && heldBack[0][1] === 1 ? 'hit' : 'hits'}.` : '';
    held.hidden = heldBack.length === 0 || message.mode !== 'search';
    const firstWeak = message.hits.findIndex((h) => h.band === 'weak');
    empty.textContent = message.hits.length ? '' : message.mode === 'similar' ? 'Nothing similar found.' : 'No results. The index may still be building.';
    message.hits.forEach((hit, i) => {
      const item = document.createElement('li');
      item.className = 'hit';
      item.setAttribute('role', 'option');
      item.setAttribute('tabindex', '0');
      item.setAttribute('aria-selected', 'false');
      const name = hit.symbol || hit.path.split('/').pop();
      const words = hit.matched && hit.matched.length ? hit.matched : queryWords;
      item.setAttribute('aria-label', `${name}, ${hit.path} line ${hit.start}, score ${hit.score.toFixed(2)}`);

      const head = document.createElement('div');
      head.className = 'hit-head';
      const title = document.createElement('span');
      title.className = 'hit-title';
      appendHighlighted(title, name, words);
      const score = document.createElement('span');
      score.className = `hit-score${hit.band ? ` band-${hit.band}` : ''}`;
      score.textContent = hit.band ? `${hit.band}${hit.vectorScore !== undefined ? ` · cos ${hit.vectorScore.toFixed(2)}` : ''}` : hit.score.toFixed(2);
      score.title = explain(hit, message.mode);
      head.append(title, score);

      const where = document.createElement('div');
      where.className = 'hit-path';
      where.textContent = `${multiRoot ? hit.folder + ' › ' : ''}${hit.path}:${hit.start}-${hit.end}`;

      const snippet = document.createElement('pre');
      snippet.className = 'hit-snippet';
      appendHighlighted(snippet, previewText(hit), words);

      item.append(head, where);
      if (message.mode === 'similar' && hit.likeness) item.append(likenessBadge(hit, message.source));
      item.append(snippet);
      item.addEventListener('click', () => open(hit));
      item.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          open(hit);
        } else if (e.key === 'ArrowDown' && sibling(item, 'nextElementSibling')) {
          e.preventDefault();
          sibling(item, 'nextElementSibling').focus();
        } else if (e.key === 'ArrowUp') {
          e.preventDefault();
          (sibling(item, 'previousElementSibling') || q).focus();
        }
      });
      item.addEventListener('focus', () => item.setAttribute('aria-selected', 'true'));
      item.addEventListener('blur', () => item.setAttribute('aria-selected', 'false'));
      if (i === 0) item.dataset.first = 'true';
      if (i === firstWeak && message.mode === 'search') {
        const line = document.createElement('li');
        line.className = 'weak-line';
        line.setAttribute('role', 'separator');
        line.textContent = i === 0 ? 'Only weak matches' : 'Weaker matches';
        list.appendChild(line);
      }
      list.appendChild(item);
    });
  }

  window.addEventListener('message', (event) => {
    const m = event.data;
    if (!m || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'results':
        // Search answers older than the latest query are dropped; Find Similar (negative seq) always shows.
        if (m.mode === 'search' && m.seq !== seq) return;
        render(m);
        lastResults = m;
        lightResults();
        break;
      case 'map':
        showMap(m.map);
        break;
      case 'mapError':
        mapStatus.textContent = `The map could not be made: ${m.message}`;
        break;
      case 'status':
        status.textContent = m.text;
        status.dataset.state = m.state;
        status.classList.toggle('busy', !!m.busy);
        break;
      case 'error':
        if (m.seq !== undefined && m.seq !== seq) return;
        heading.textContent = '';
        empty.textContent = m.message;
        break;
      case 'setQuery':
        q.value = m.query;
        search(true);
        break;
      case 'dupes':
        renderDupes(m);
        break;
      case 'dupesError':
        dupesList.replaceChildren();
        dupesEmpty.textContent = m.message;
        break;
    }
  });

  // Near-duplicates: groups load when the section is first opened, and on Refresh.
  const dupes = $('dupes');
  const dupesList = $('dupes-list');
  const dupesEmpty = $('dupes-empty');
  const dupesCount = $('dupes-count');
  let dupesLoaded = false;

  function loadDupes() {
    dupesLoaded = true;
    dupesEmpty.textContent = 'Looking for near-duplicates…';
    vscode.postMessage({ type: 'dupes' });
  }
  dupes.addEventListener('toggle', () => {
    if (dupes.open && !dupesLoaded) loadDupes();
  });
  $('dupes-refresh').addEventListener('click', loadDupes);

  function location(member) {
    return { root: member.root, path: member.path, start: member.start, end: member.end };
  }

  function renderDupes(m) {
    dupesLoaded = true;
    if (m.reveal) {
      dupes.open = true;
      dupes.scrollIntoView({ block: 'start' });
    }
    dupesList.replaceChildren();
    dupesCount.textContent = m.total ? `(${m.total})` : '';
    dupesEmpty.textContent = m.groups.length ? '' : 'No near-duplicates found.';
    const multiRoot = new Set(m.groups.flatMap((g) => g.members.map((x) => x.root))).size > 1;
    for (const group of m.groups) {
      const item = document.createElement('li');
      item.className = 'group';
      const toggle = document.createElement('button');
      toggle.type = 'button';
      toggle.className = 'group-head';
      toggle.setAttribute('aria-expanded', 'false');
      const first = group.members[0];
      const name = document.createElement('span');
      name.className = 'group-title';
      name.textContent = `${group.members.length} × ${Math.round(group.lines)} lines · ${first.path.split('/').pop()}:${first.start}`;
      const badge = document.createElement('span');
      badge.className = `group-kind ${group.kind}`;
      badge.textContent = `${group.kind} ${group.score.toFixed(2)}`;
      badge.title = group.kind === 'textual' ? 'same code, possibly renamed: share of identical tokens' : 'same meaning, written differently: cosine similarity';
      toggle.append(name, badge);
      if (group.role) {
        const role = document.createElement('span');
        role.className = 'group-role';
        role.textContent = group.role;
        role.title = `its files are ${group.role} files: source groups come first`;
        toggle.append(role);
      }

      const members = document.createElement('ul');
      members.className = 'members';
      members.hidden = true;
      group.members.forEach((member, i) => {
        const row = document.createElement('li');
        row.className = 'member';
        const link = document.createElement('button');
        link.type = 'button';
        link.className = 'member-link';
        link.textContent = `${multiRoot ? member.folder + ' › ' : ''}${member.path}:${member.start}-${member.end}`;
        link.title = i === 0 ? 'the group centre' : `similarity ${member.similarity.toFixed(2)}`;
        link.addEventListener('click', () => open(location(member)));
        row.append(link);
        if (i > 0) {
          const compare = document.createElement('button');
          compare.type = 'button';
          compare.className = 'compare';
          compare.textContent = 'Compare';
          compare.setAttribute('aria-label', `Compare ${member.path}:${member.start} with ${first.path}:${first.start}`);
          compare.addEventListener('click', () => vscode.postMessage({ type: 'compare', a: location(first), b: location(member) }));
          row.append(compare);
        }
        members.append(row);
      });
      toggle.addEventListener('click', () => {
        members.hidden = !members.hidden;
        toggle.setAttribute('aria-expanded', String(!members.hidden));
      });
      item.append(toggle, members);
      dupesList.append(item);
    }
  }

  // The map section: the workspace drawn by meaning, with the results above lit on it.
  const mapSection = $('map-section');
  const mapStatus = $('map-status');
  let lastResults = null;
  let mapRequested = false;
  const miniMap = window.NearbyMap.create($('mini-map'), {
    label: 'Map of the workspace by meaning, with the results lit. Arrow keys pan, plus and minus zoom, N and P step through results, Enter opens.',
    onOpen: (p) => {
      const m = miniMap.data;
      const file = m.files[m.points.file[p]];
      open({ root: m.roots[file.root], path: file.path, start: m.points.start[p], end: m.points.end[p] });
    },
    onFocus: (p) => {
      const m = miniMap.data;
      if (p < 0 || !m) return;
      const file = m.files[m.points.file[p]];
      mapStatus.textContent = `${file.path}:${m.points.start[p]}${m.points.symbol[p] ? ` ${m.points.symbol[p]}` : ''}`;
    },
  });
  function lightResults() {
    if (!lastResults || !miniMap.data) return;
    const shown = miniMap.highlight(lastResults.hits, lastResults.mode === 'similar' ? lastResults.source : undefined);
    mapStatus.textContent = `${shown} of ${lastResults.hits.length} results on the map`;
  }
  function loadMap() {
    mapRequested = true;
    mapStatus.textContent = 'Laying out the map…';
    vscode.postMessage({ type: 'map' });
  }
  mapSection.addEventListener('toggle', () => {
    if (mapSection.open && !mapRequested) loadMap();
  });
  $('open-map').addEventListener('click', () => vscode.postMessage({ type: 'openMap' }));
  function showMap(map) {
    miniMap.setData(map);
    $('map-count').textContent = `(${map.shown} chunks)`;
    mapStatus.textContent = map.notice || `${Math.round(map.quality.preservation * 100)}% of nearest neighbours kept`;
    lightResults();
  }

  vscode.postMessage({ type: 'ready' });
  if (q.value.trim().length >= 2 && shownSeq === null) search(true);
})();
