// DOM building for the dashboard. Every value from the server goes into the page as
// text (textContent / text nodes) or as a property; nothing here parses HTML, so a job
// whose args hold markup stays inert text.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

// h('td', {class: 'num'}, 'text', childNode, ...): an element with attributes and
// children; strings and numbers become text nodes, null/false children are skipped.
// Attributes starting with "on" take a function and become event listeners.
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  return fill(node, attrs, children);
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  return fill(node, attrs, children);
}

function fill(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function replaceChildren(node, ...children) {
  while (node.firstChild) node.removeChild(node.firstChild);
  append(node, children);
}

// A link inside the app: the hash is built from encoded parts, so it cannot leave
// the page (no "javascript:" can be formed from data).
function link(text, page, ...parts) {
  const hash = '#/' + [page, ...parts.map((p) => encodeURIComponent(String(p)))].join('/');
  return h('a', {href: hash}, text);
}

// headers: names; a name ending in '#' is a numeric column (right-aligned).
function table(headers, rows, attrs) {
  const th = (name) => name.length > 1 && name.endsWith('#') ? h('th', {class: 'num'}, name.slice(0, -1)) : h('th', null, name);
  const head = h('thead', null, h('tr', null, headers.map(th)));
  const body = h('tbody', null, rows);
  return h('table', attrs || {}, head, body);
}

function shorten(text, limit) {
  const value = String(text === null || text === undefined ? '' : text);
  return value.length > limit ? value.slice(0, limit - 1) + '…' : value;
}

function ago(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
}

function number(value) {
  return Number(value || 0).toLocaleString('en-US');
}
