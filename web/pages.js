// The dashboard's pages. Each mounts its fixed parts (headings, forms, buttons) once and
// returns {url, render}: the app fetches url() every refresh and render() redraws only
// the data, so typing in a filter box is never interrupted by live updates.
'use strict';

const PAGE_SIZE = 20;

function section(root, title, ...extra) {
  const body = h('div', {class: 'section-body'});
  root.appendChild(h('section', null, h('h2', null, title, ...extra), body));
  return body;
}

function statCards(stats) {
  const card = (label, value, kind) =>
    h('div', {class: 'card ' + (kind || '')}, h('div', {class: 'value'}, number(value)),
      h('div', {class: 'label'}, label));
  return h('div', {class: 'cards'},
    card('processed', stats.processed), card('failed', stats.failed, stats.failed ? 'bad' : ''),
    card('pending', stats.pending), card('queues', stats.queues),
    card('workers', stats.workers), card('working', stats.working));
}

function queueRows(queues) {
  if (!queues.length) return [h('tr', null, h('td', {colspan: 3, class: 'muted'}, 'No queues.'))];
  return queues.map((q) => h('tr', {'data-queue': q.name},
    h('td', null, link(q.name, 'queue', q.name)),
    h('td', {class: 'num'}, number(q.size)),
    h('td', {class: 'num', title: 'age of the oldest job (when its payload says when it was enqueued)'},
      ago(q.oldest_age_seconds))));
}

function jobSummary(job) {
  if (!job) return '';
  return h('span', null, h('code', null, job.class), ' ', h('span', {class: 'args'}, shorten(job.args, 120)));
}

function pager(offset, size, total, onMove) {
  const last = Math.max(0, Math.floor((Math.max(total, 1) - 1) / size) * size);
  const button = (label, target, enabled) =>
    h('button', {type: 'button', class: 'small', disabled: !enabled,
                 onclick: () => onMove(target)}, label);
  return h('div', {class: 'pager'},
    button('« first', 0, offset > 0),
    button('‹ prev', Math.max(0, offset - size), offset > 0),
    h('span', {class: 'muted'},
      total ? (number(offset + 1) + '–' + number(Math.min(offset + size, total)) + ' of ' + number(total)) : 'empty'),
    button('next ›', offset + size, offset + size < total),
    button('last »', last, offset < last));
}

// FC-16: due delayed jobs nobody moves mean no scheduler runs; say so on the page.
function overdueWarning(state) {
  if (!state || !state.overdue_warning) return null;
  return h('p', {class: 'notice warn', id: 'overdue-warning'},
    'Delayed jobs are overdue: the oldest due job has waited ' + ago(state.overdue_seconds) +
    '. No scheduler is moving them; start one (resque scheduler, or resque-scheduler). ',
    link('Scheduler page', 'scheduler'));
}

const PAGES = {};

PAGES.overview = {
  mount(root) {
    const cards = h('div');
    root.appendChild(cards);
    const graph = section(root, 'Throughput');
    const queues = section(root, 'Queues');
    const working = section(root, 'Workers working now');
    return {
      url: () => 'overview',
      render(data) {
        replaceChildren(cards, data.paused ? h('p', {class: 'notice warn'}, 'All workers are paused (pause-all-workers is set).') : null,
                        overdueWarning(data.delayed), statCards(data.stats));
        replaceChildren(graph, throughputGraph(data.history));
        replaceChildren(queues, table(['queue', 'jobs#', 'oldest job#'], queueRows(data.queues), {id: 'overview-queues'}));
        const rows = data.working.map((w) => h('tr', null,
          h('td', null, w.id), h('td', null, w.job ? w.job.queue : ''),
          h('td', null, jobSummary(w.job)), h('td', null, w.job ? w.job.run_at : '')));
        replaceChildren(working, rows.length ? table(['worker', 'queue', 'job', 'since'], rows)
                                             : h('p', {class: 'muted'}, 'No worker is running a job.'));
      },
    };
  },
};

PAGES.queues = {
  mount(root) {
    const queues = section(root, 'Queues');
    const lists = section(root, 'Failure lists');
    return {
      url: () => 'queues',
      render(data) {
        replaceChildren(queues, table(['queue', 'jobs#', 'oldest job#'], queueRows(data.queues), {id: 'queues'}));
        replaceChildren(lists, h('ul', null, data.failure_lists.map((name) =>
          h('li', null, h('a', {href: '#/failed?' + query({list: name})}, name)))));
      },
    };
  },
};

PAGES.queue = {
  nav: 'queues',
  mount(root, route) {
    const name = route.parts[0] || '';
    const offset = Math.max(0, parseInt(route.params.offset || '0', 10) || 0);
    const heading = h('span', {class: 'muted'});
    const body = section(root, 'Queue ', h('code', null, name), ' ', heading);
    const buttons = h('div', {class: 'actions'},
      h('button', {type: 'button', class: 'danger', id: 'clear-queue',
                   onclick: () => act('queue/clear', {queue: name}, 'Remove every job from this queue?')}, 'Clear queue'),
      h('button', {type: 'button', class: 'danger', id: 'delete-queue',
                   onclick: () => act('queue/delete', {queue: name}, 'Delete this queue and its jobs?',
                                      () => go('queues'))}, 'Delete queue'));
    root.insertBefore(buttons, root.firstChild);
    return {
      url: () => 'queue?' + query({name, offset, count: PAGE_SIZE}),
      render(data) {
        heading.textContent = number(data.size) + ' jobs';
        const rows = data.jobs.map((job) => h('tr', null,
          h('td', {class: 'num'}, job.index),
          h('td', null, h('code', null, job.valid ? job.class : '(not a valid job)')),
          h('td', {class: 'args'}, shorten(job.args, 300)),
          h('td', null, h('button', {type: 'button', class: 'small remove-job',
            onclick: () => act('queue/remove_job', {queue: name, raw: job.raw}, 'Remove this job?')}, 'Remove'))));
        replaceChildren(body,
          table(['#', 'class', 'args', ''], rows.length ? rows : [h('tr', null, h('td', {colspan: 4, class: 'muted'}, 'Empty.'))], {id: 'jobs'}),
          pager(offset, PAGE_SIZE, data.size, (to) => go('queue', [name], {offset: to})));
      },
    };
  },
};

PAGES.workers = {
  mount(root) {
    const body = section(root, 'Workers');
    return {
      url: () => 'workers',
      render(data) {
        const rows = data.workers.map((w) => h('tr', {class: w.working ? 'working' : ''},
          h('td', null, w.host), h('td', {class: 'num'}, w.pid), h('td', null, w.queues),
          h('td', null, w.started), h('td', null, w.heartbeat || '–'),
          h('td', {class: 'num'}, number(w.processed)), h('td', {class: 'num'}, number(w.failed)),
          h('td', null, w.job ? h('span', null, w.job.queue, ': ', jobSummary(w.job), h('br'),
                                  h('span', {class: 'muted'}, 'since ' + w.job.run_at)) : h('span', {class: 'muted'}, 'idle'))));
        replaceChildren(body, rows.length
          ? table(['host', 'pid#', 'queues', 'started', 'heartbeat', 'processed#', 'failed#', 'job'], rows, {id: 'workers'})
          : h('p', {class: 'muted'}, 'No workers registered.'));
      },
    };
  },
};

function failureActions(f, done) {
  const target = {list: f.list, index: f.index, raw: f.raw};
  return h('span', {class: 'row-actions'},
    h('button', {type: 'button', class: 'small retry', onclick: () => act('failed/retry', target, null, done)}, 'Retry'),
    h('button', {type: 'button', class: 'small danger remove', onclick: () => act('failed/remove', target, 'Remove this failure?', done)}, 'Remove'));
}

PAGES.failed = {
  mount(root, route) {
    const p = route.params;
    const list = p.list || 'failed';
    const offset = Math.max(0, parseInt(p.offset || '0', 10) || 0);
    const filter = {class: p.class || '', queue: p.queue || '', exception: p.exception || ''};
    const filtered = Boolean(filter.class || filter.queue || filter.exception);

    const inputs = {};
    const field = (key, label) => {
      inputs[key] = h('input', {type: 'text', name: key, placeholder: label, value: filter[key]});
      return inputs[key];
    };
    const form = h('form', {class: 'filter', id: 'failure-filter', onsubmit: (event) => {
      event.preventDefault();
      go('failed', [], {list, class: inputs.class.value, queue: inputs.queue.value,
                        exception: inputs.exception.value});
    }}, field('class', 'class'), field('queue', 'queue'), field('exception', 'exception'),
      h('button', {type: 'submit', class: 'small'}, 'Filter'),
      h('button', {type: 'button', class: 'small', onclick: () => go('failed', [], {list})}, 'Reset'));
    const heading = h('span', {class: 'muted'});
    const body = section(root, 'Failed ', h('code', null, list), ' ', heading);
    root.insertBefore(h('div', {class: 'actions'}, form,
      h('button', {type: 'button', id: 'retry-all', onclick: () => act('failed/retry_all', {list}, 'Retry every failure in this list?')}, 'Retry all'),
      h('button', {type: 'button', id: 'clear-retried', onclick: () => act('failed/clear_retried', {list}, 'Remove the failures already retried?')}, 'Clear retried'),
      h('button', {type: 'button', class: 'danger', id: 'clear-failed', onclick: () => act('failed/clear', {list}, 'Remove every failure in this list?')}, 'Clear all')),
      root.firstChild);

    return {
      url: () => 'failed?' + query({list, offset, count: PAGE_SIZE, ...filter}),
      render(data) {
        heading.textContent = number(data.total) + ' entries' + (filtered ? ', filtered' : '');
        const rows = data.failures.map((f) => h('tr', {class: f.retried_at ? 'retried' : ''},
          h('td', {class: 'num'}, link(String(f.index), 'failure', f.list, f.index)),
          h('td', null, f.failed_at),
          h('td', null, h('code', null, f.class)),
          h('td', null, f.queue),
          h('td', null, h('strong', null, f.exception), ' ', shorten(f.error, 140)),
          h('td', {class: 'args'}, shorten(f.args, 160)),
          h('td', null, f.retried_at ? 'retried ' + f.retried_at : ''),
          h('td', null, failureActions(f))));
        const empty = [h('tr', null, h('td', {colspan: 8, class: 'muted'}, filtered ? 'No matches here.' : 'No failures.'))];
        let nav;
        if (filtered && !data.failures.length && data.next_offset >= 0) {
          // Nothing in this stretch: search on, one bounded request at a time.
          replaceChildren(body, h('p', {class: 'muted', id: 'searching'},
            'Searching… entry ' + number(data.next_offset) + ' of ' + number(data.total)));
          go('failed', [], {list, ...filter, offset: data.next_offset}, true);
          return;
        }
        if (filtered) {
          // A filter scans a bounded stretch per request; the next request resumes there.
          nav = h('div', {class: 'pager'},
            h('button', {type: 'button', class: 'small', disabled: offset === 0,
                         onclick: () => go('failed', [], {list, ...filter})}, '« from the start'),
            h('span', {class: 'muted'}, 'searching from entry ' + number(offset)),
            h('button', {type: 'button', class: 'small', disabled: data.next_offset < 0,
                         onclick: () => go('failed', [], {list, ...filter, offset: data.next_offset})},
              data.next_offset < 0 ? 'end of list' : 'more matches ›'));
        } else {
          nav = pager(offset, PAGE_SIZE, data.total, (to) => go('failed', [], {list, offset: to}));
        }
        replaceChildren(body, table(['#', 'failed at', 'class', 'queue', 'error', 'args', '', ''],
                                    rows.length ? rows : empty, {id: 'failures'}), nav);
      },
    };
  },
};

PAGES.failure = {
  nav: 'failed',
  mount(root, route) {
    const list = route.parts[0] || 'failed';
    const index = parseInt(route.parts[1] || '0', 10) || 0;
    const body = section(root, 'Failure ', h('code', null, list + ' #' + index));
    return {
      url: () => 'failure?' + query({list, index}),
      render(f) {
        const field = (label, value) => h('tr', null, h('th', null, label), h('td', null, value));
        replaceChildren(body,
          h('div', {class: 'actions'}, failureActions(f, () => go('failed', [], {list}))),
          h('table', {class: 'detail', id: 'failure'}, h('tbody', null,
            field('failed at', f.failed_at), field('class', h('code', null, f.class)),
            field('queue', f.queue), field('worker', f.worker),
            field('exception', f.exception), field('error', h('pre', null, f.error)),
            field('args', h('pre', null, f.args)), field('retried at', f.retried_at || '–'),
            field('backtrace', h('pre', {class: 'backtrace'}, (f.backtrace || []).join('\n'))),
            field('payload', h('pre', null, f.payload)))));
      },
      fail(error) {
        replaceChildren(body, h('p', {class: 'muted'}, error.message));
      },
    };
  },
};

PAGES.stats = {
  mount(root) {
    const counters = section(root, 'Counters');
    const redis = section(root, 'Redis');
    const keys = section(root, 'Keys');
    return {
      url: () => 'stats',
      render(data) {
        replaceChildren(counters, statCards(data.stats));
        const info = Object.entries(data.redis).map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, v)));
        info.push(h('tr', null, h('th', null, 'keys in database'), h('td', null, number(data.db_keys))));
        replaceChildren(redis, h('table', {class: 'detail', id: 'redis-info'}, h('tbody', null, info)));
        const rows = data.keys.map((k) => h('tr', null, h('td', null, k.key), h('td', null, k.type),
                                            h('td', {class: 'num'}, number(k.size))));
        replaceChildren(keys, table(['key', 'type', 'size#'], rows, {id: 'keys'}),
          data.keys_truncated ? h('p', {class: 'muted'}, 'Showing the first ' + data.keys.length + ' keys.') : null);
      },
    };
  },
};

// One delayed job: queue, class and (cut) args, a link to the whole job, its actions.
function delayedJob(at, job) {
  const target = {at, digest: job.digest};
  return h('div', {class: 'delayed-job'},
    h('span', {class: 'muted'}, job.queue || '(no queue)'), ' ',
    h('code', null, job.valid ? job.class : '(not a valid job)'), ' ',
    h('span', {class: 'args'}, job.valid ? shorten(job.args, 200) : shorten(job.raw, 200)),
    job.truncated ? [' ', link('(whole job)', 'delayed_job', at, job.digest)] : null, ' ',
    h('span', {class: 'row-actions'},
      job.valid ? h('button', {type: 'button', class: 'small enqueue-now',
        onclick: () => act('delayed/enqueue_now', target)}, 'Enqueue now') : null,
      h('button', {type: 'button', class: 'small danger remove-delayed',
        onclick: () => act('delayed/remove', target, 'Remove this delayed job?')}, 'Remove')));
}

function delayedTimeRow(time) {
  const more = time.size - time.jobs.length;
  return h('tr', {class: time.due ? 'due' : '', 'data-at': time.at},
    h('td', null, time.time, time.due ? h('span', {class: 'badge'}, 'due') : null),
    h('td', {class: 'num'}, number(time.size)),
    h('td', null, time.jobs.map((job) => delayedJob(time.at, job)),
      more > 0 ? link('… ' + number(more) + ' more at this time', 'delayed', time.at) : null),
    h('td', null, h('button', {type: 'button', class: 'small enqueue-time',
      onclick: () => act('delayed/enqueue_now', {at: time.at},
                         'Enqueue all ' + time.size + ' jobs due at ' + time.time + ' now?')},
      'Enqueue all now')));
}

function scheduleRow(s) {
  return h('tr', {'data-schedule': s.name},
    h('td', null, h('strong', null, s.name), h('br'),
      h('span', {class: 'muted'}, s.persisted ? 'persisted' : 'schedule file')),
    h('td', null, s.timing), h('td', null, h('code', null, s.class)), h('td', null, s.queue),
    h('td', {class: 'args'}, shorten(s.args, 200)), h('td', null, s.description),
    h('td', null, s.last_enqueued_at || 'never'),
    h('td', null, s.next.length ? s.next.map((t) => h('div', null, t)) : '–'),
    h('td', null, h('button', {type: 'button', class: 'small run-now',
      onclick: () => act('schedule/run_now', {name: s.name},
                         'Enqueue ' + s.class + ' on ' + s.queue + ' now?')}, 'Run now')));
}

PAGES.scheduler = {
  mount(root, route) {
    const offset = Math.max(0, parseInt(route.params.offset || '0', 10) || 0);
    const state = h('div');
    root.appendChild(state);
    const scheduleCount = h('span', {class: 'muted'});
    const schedules = section(root, 'Schedules ', scheduleCount);
    const delayedCount = h('span', {class: 'muted'});
    const delayed = section(root, 'Delayed jobs ', delayedCount);
    return {
      url: () => 'scheduler?' + query({offset, count: PAGE_SIZE}),
      render(data) {
        replaceChildren(state, overdueWarning(data),
          h('p', {class: 'muted', id: 'scheduler-state'},
            data.leader ? ['Leader: ', h('code', null, data.leader)]
                        : 'No scheduler holds the leader lock.',
            ' · server time ' + data.now));
        scheduleCount.textContent = number(data.schedule_total);
        const rows = data.schedules.map(scheduleRow);
        replaceChildren(schedules,
          data.schedule_errors.map((e) => h('p', {class: 'notice error schedule-error'}, e)),
          rows.length ? table(['name', 'timing', 'class', 'queue', 'args', 'description',
                               'last enqueued', 'next runs', ''], rows, {id: 'schedules'})
                      : h('p', {class: 'muted'}, 'No schedules.'),
          data.schedule_total > rows.length
            ? h('p', {class: 'muted'}, 'Showing the first ' + rows.length + '.') : null);
        const d = data.delayed;
        delayedCount.textContent = number(d.total) + ' jobs at ' + number(d.timestamps) + ' times';
        replaceChildren(delayed,
          table(['due at', 'jobs#', 'jobs', ''], d.times.length ? d.times.map(delayedTimeRow)
            : [h('tr', null, h('td', {colspan: 4, class: 'muted'}, 'No delayed jobs.'))],
          {id: 'delayed'}),
          pager(offset, PAGE_SIZE, d.timestamps, (to) => go('scheduler', [], {offset: to})));
      },
    };
  },
};

PAGES.delayed = {
  nav: 'scheduler',
  mount(root, route) {
    const at = parseInt(route.parts[0] || '0', 10) || 0;
    const offset = Math.max(0, parseInt(route.params.offset || '0', 10) || 0);
    const heading = h('span', {class: 'muted'});
    const body = section(root, 'Delayed jobs due ', heading);
    return {
      url: () => 'delayed?' + query({at, offset, count: PAGE_SIZE}),
      render(data) {
        heading.textContent = data.time + ' · ' + number(data.size) + ' jobs';
        const rows = data.jobs.map((job) => h('tr', null, h('td', null, delayedJob(at, job))));
        replaceChildren(body,
          table(['job'], rows.length ? rows
            : [h('tr', null, h('td', {class: 'muted'}, 'None left.'))], {id: 'delayed-jobs'}),
          pager(offset, PAGE_SIZE, data.size, (to) => go('delayed', [at], {offset: to})));
      },
    };
  },
};

PAGES.delayed_job = {
  nav: 'scheduler',
  mount(root, route) {
    const at = parseInt(route.parts[0] || '0', 10) || 0;
    const digest = route.parts[1] || '';
    const body = section(root, 'Delayed job');
    return {
      url: () => 'delayed_job?' + query({at, digest}),
      render(job) {
        const field = (label, value) => h('tr', null, h('th', null, label), h('td', null, value));
        replaceChildren(body, h('table', {class: 'detail', id: 'delayed-job'}, h('tbody', null,
          field('due at', job.time), field('queue', job.queue),
          field('class', h('code', null, job.class)), field('size', number(job.bytes) + ' bytes'),
          field('args', h('pre', null, job.valid ? job.args : job.raw)))));
      },
      fail(error) {
        replaceChildren(body, h('p', {class: 'muted'}, error.message));
      },
    };
  },
};
