// Throughput graph: processed and failed jobs per minute as two lines in an inline SVG
// (drawn here, no library). Values are numbers from the API; labels are set as text.
'use strict';

function throughputGraph(history) {
  const width = 1200;
  const height = 160;
  const pad = {left: 44, right: 10, top: 12, bottom: 22};
  const processed = history.processed || [];
  const failed = history.failed || [];
  const count = Math.max(processed.length, 2);
  const peak = Math.max(1, ...processed, ...failed);

  const x = (i) => pad.left + (i * (width - pad.left - pad.right)) / (count - 1);
  const y = (v) => height - pad.bottom - (v * (height - pad.top - pad.bottom)) / peak;
  const points = (series) => series.map((v, i) => x(i).toFixed(1) + ',' + y(v).toFixed(1)).join(' ');

  const graph = svg('svg', {
    class: 'graph', viewBox: '0 0 ' + width + ' ' + height, role: 'img',
    'aria-label': 'jobs per minute, last ' + processed.length + ' minutes',
  });
  for (const fraction of [0, 0.5, 1]) {
    const value = Math.round(peak * fraction);
    graph.appendChild(svg('line', {class: 'grid', x1: pad.left, x2: width - pad.right,
                                   y1: y(value), y2: y(value)}));
    graph.appendChild(svg('text', {class: 'axis', x: pad.left - 6, y: y(value) + 4,
                                   'text-anchor': 'end'}, String(value)));
  }
  graph.appendChild(svg('text', {class: 'axis', x: pad.left, y: height - 6},
                        '-' + processed.length + ' min'));
  graph.appendChild(svg('text', {class: 'axis', x: width - pad.right, y: height - 6,
                                 'text-anchor': 'end'}, 'now'));
  graph.appendChild(svg('polyline', {class: 'series processed', points: points(processed)}));
  graph.appendChild(svg('polyline', {class: 'series failed', points: points(failed)}));

  const total = (series) => series.reduce((a, b) => a + b, 0);
  const legend = h('div', {class: 'legend'},
    h('span', {class: 'key processed'}, 'processed ' + number(total(processed))),
    h('span', {class: 'key failed'}, 'failed ' + number(total(failed))),
    h('span', {class: 'muted'}, 'per minute, last ' + processed.length + ' minutes'));
  return h('div', {class: 'graph-box'}, graph, legend);
}
