"""The Task Manager page shell: inline CSS and script, no external assets, no build step."""

from __future__ import annotations

from html import escape

CSS = """
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fafafa; --card: #fff; --line: #c8c8c8;
  --accent: #0b57d0; --stop: #b3261e; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e6e6; --bg: #121212; --card: #1e1e1e; --line: #444; --accent: #8ab4f8;
    --stop: #f2b8b5; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 48rem; margin: 0 auto; padding: 0.75rem 1rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: .5rem; }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0; overflow-wrap: anywhere; }
ul { list-style: none; margin: 0; padding: 0; }
.app, .apps > li, section > .jobs > .job { background: var(--card); border: 1px solid var(--line);
  border-radius: .5rem; padding: .75rem; margin: 0 0 .75rem; }
.app .job { border-top: 1px solid var(--line); padding-top: .5rem; margin-top: .5rem; }
.app-head { display: flex; align-items: center; justify-content: space-between; gap: .75rem; }
p { margin: .25rem 0; }
.title { font-weight: 600; overflow-wrap: anywhere; }
.facts, .count, .last-stop, time { font-size: .9rem; }
.timeline a { display: inline-block; padding: .35rem 0; }
progress { width: calc(100% - 4rem); height: 1.1rem; vertical-align: middle; accent-color: var(--accent); }
.pct { display: inline-block; min-width: 3.5rem; text-align: right; font-variant-numeric: tabular-nums; }
.why { list-style: disc; padding-left: 1.25rem; }
button { font: inherit; min-height: 44px; min-width: 5.5rem; padding: .4rem 1rem; border-radius: .4rem;
  border: 2px solid currentColor; background: var(--card); color: var(--accent); cursor: pointer; }
button.stop { color: var(--stop); font-weight: 700; }
button:focus-visible, summary:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
button[disabled] { opacity: .6; cursor: progress; }
.state { font-weight: 600; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
#conn { font-size: .9rem; }
#limit { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; font-size: .9rem; }
#limit input { font: inherit; min-height: 44px; padding: .3rem .5rem; width: 16rem; max-width: 100%; }
"""

SCRIPT = """
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const main = document.getElementById('content');
  const conn = document.getElementById('conn');
  const announce = document.getElementById('announce');
  const same = (a, b) => a.nodeType === b.nodeType && a.nodeName === b.nodeName &&
    (a.nodeType !== 1 || (a.id || '') === (b.id || ''));
  function morph(cur, next) {
    for (const a of [...cur.attributes]) {
      const keep = a.name === 'open' && cur.tagName === 'DETAILS';
      if (!next.hasAttribute(a.name) && !keep) cur.removeAttribute(a.name);
    }
    for (const a of [...next.attributes]) {
      if (cur.getAttribute(a.name) !== a.value) cur.setAttribute(a.name, a.value);
    }
    if (cur.tagName === 'PROGRESS' && next.hasAttribute('value')) cur.value = Number(next.getAttribute('value'));
    morphChildren(cur, next);
  }
  function morphChildren(cur, next) {
    const wanted = [...next.childNodes];
    wanted.forEach((node, i) => {
      let have = cur.childNodes[i];
      if (have && !same(have, node) && node.nodeType === 1 && node.id) {
        const moved = [...cur.children].find(c => c.id === node.id);
        if (moved) { cur.insertBefore(moved, have); have = moved; }
      }
      if (!have) cur.appendChild(node);
      else if (!same(have, node)) cur.replaceChild(node, have);
      else if (node.nodeType === 1) morph(have, node);
      else if (have.nodeValue !== node.nodeValue) have.nodeValue = node.nodeValue;
    });
    while (cur.childNodes.length > wanted.length) cur.removeChild(cur.lastChild);
  }
  function apply(html) {
    const t = document.createElement('template');
    t.innerHTML = html;
    const next = document.createElement('main');
    next.append(t.content);
    const focused = refocus || main.contains(document.activeElement);
    morphChildren(main, next);
    if (focused && !main.contains(document.activeElement)) { refocus = false; focusList(); }
  }
  // A button that had focus loses it while disabled for its request; if the update removes it
  // meanwhile, focus goes to the list instead of being lost.
  let refocus = false;
  function focusList() {
    const heading = document.getElementById('h-running');
    if (heading) { heading.tabIndex = -1; heading.focus(); }
  }
  const events = new EventSource('/api/events');
  events.addEventListener('state', e => {
    const data = JSON.parse(e.data);
    apply(data.html);
    document.body.dataset.version = data.version;
    conn.textContent = 'Live';
  });
  events.onopen = () => { conn.textContent = 'Live'; };
  events.onerror = () => {
    conn.textContent = events.readyState === EventSource.CLOSED
      ? 'Disconnected: run `uidt ui` to sign in again' : 'Reconnecting…';
  };
  document.addEventListener('submit', async ev => {
    const form = ev.target;
    if (!(form instanceof HTMLFormElement)) return;
    ev.preventDefault();
    const button = form.querySelector('button');
    const hadFocus = form.contains(document.activeElement);
    refocus = hadFocus;
    if (button) { button.disabled = true; button.setAttribute('aria-busy', 'true'); }
    try {
      const response = await fetch(form.action, {
        method: 'POST', credentials: 'same-origin',
        headers: {'X-CSRF-Token': csrf, 'Accept': 'application/json'},
        body: new URLSearchParams(new FormData(form)),
      });
      const data = await response.json().catch(() => ({}));
      announce.textContent = response.ok ? (data.message || form.dataset.done || 'Done')
        : 'Failed: ' + (data.error || response.status);
    } catch (err) {
      announce.textContent = 'Failed: ' + err;
    } finally {
      const out = form.querySelector('output');
      if (out) out.textContent = announce.textContent;
      if (button && button.isConnected) {
        button.disabled = false; button.removeAttribute('aria-busy');
        if (hadFocus) button.focus();
        refocus = false;
      } else if (hadFocus && !main.contains(document.activeElement)) { refocus = false; focusList(); }
    }
  });
})();
"""


def render_limit(description: str) -> str:
    """The bandwidth-limit control: the limit in force and a field to change it."""
    return f"""<form id="limit" action="/api/bandwidth-limit" method="post">
<label for="limit-text">Bandwidth limit</label>
<input id="limit-text" name="limit" placeholder="2M, off, 08:00,2M 19:00,off, or reset"
 autocomplete="off" spellcheck="false" required maxlength="1000">
<button>Set</button>
<output aria-live="polite">{escape(description)}</output>
</form>"""


def render_page(fragment: str, csrf: str, version: int, limit: str = "") -> str:
    """The whole Task Manager page, with the live fragment (and ``limit``, the bandwidth-limit
    control of :func:`render_limit`) already in place."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{escape(csrf, quote=True)}">
<meta name="referrer" content="no-referrer">
<title>uidt Task Manager</title>
<style>{CSS}</style>
</head>
<body data-version="{version}">
<header><h1>uidt Task Manager</h1><p id="conn" role="status">Connecting…</p>{limit}</header>
<p id="announce" class="sr" aria-live="polite"></p>
<main id="content">{fragment}</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


def message_page(title: str, message: str) -> str:
    """A small page for errors (not signed in, link used up)."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head>
<body><main><h1>{escape(title)}</h1><p>{escape(message)}</p></main></body></html>
"""
