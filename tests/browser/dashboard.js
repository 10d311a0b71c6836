// End-to-end test of the dashboard in Debian's headless Chromium, driven by
// playwright-core (no browser download: CHROMIUM or /usr/bin/chromium).
//
//   node dashboard.js URL SCREENSHOT_DIR
//
// Expects the data seeded by tests/integration/web_browser_test.cpp: a hostile queue,
// worker and failure (FC-14), failures of class Mailer with args ["f0"].. ["f4"], a
// queue "live" holding 3 jobs, a schedule "weekly_report" and a delayed job with hostile
// args, and a delayed job overdue because no scheduler runs (FC-16). Opens every page,
// retries and clears failures and runs a schedule through the buttons, checks live
// updating and that hostile values stay inert text. Exits 0 on success, 1 with a
// message naming the failed check.
'use strict';

const path = require('path');
const {chromium} = require('playwright-core');

const [url, shots] = process.argv.slice(2);
if (!url || !shots) {
  console.error('usage: node dashboard.js URL SCREENSHOT_DIR');
  process.exit(2);
}

function check(condition, message) {
  if (!condition) throw new Error('check failed: ' + message);
}

// Nothing from the data may have become an element or an event handler.
async function assertInert(page, where) {
  const found = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script').length,
    injected: document.querySelectorAll(
      'img, iframe, b, [onerror], [onload], [onmouseover], svg:not(.graph)').length,
  }));
  check(found.scripts === 4, where + ': expected only the app\'s 4 script tags, found ' + found.scripts);
  check(found.injected === 0, where + ': ' + found.injected + ' injected elements');
}

async function shot(page, name) {
  await page.screenshot({path: path.join(shots, name + '.png'), fullPage: true});
}

async function open(page, hash, ready) {
  await page.goto(url + hash);
  await page.waitForSelector(ready, {timeout: 15000});
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const dialogs = [];
  const errors = [];
  try {
    const context = await browser.newContext({viewport: {width: 1280, height: 860}});
    const page = await context.newPage();
    page.on('dialog', async (dialog) => {
      dialogs.push(dialog.type() + ': ' + dialog.message());
      // confirm() of our own buttons is accepted; any alert() means injected script ran.
      await dialog.accept();
    });
    page.on('pageerror', (error) => errors.push(error.message));

    // Overview: hostile queue name is text, graph and cards are drawn, and the overdue
    // delayed job raises the no-scheduler warning.
    await open(page, '#/overview', '#overview-queues tbody tr');
    check(await page.$('#overdue-warning'), 'overdue warning on the overview');
    const queueText = await page.textContent('#overview-queues');
    check(queueText.includes('"><img src=x onerror=alert(1)>'), 'hostile queue name shown as text');
    check(await page.$('svg.graph polyline.processed'), 'throughput graph drawn');
    await assertInert(page, 'overview');
    await shot(page, 'overview');

    // Live updating: another tab clears queue "live"; this one sees it without reload.
    const pending = async () => page.evaluate(() => {
      const cards = [...document.querySelectorAll('.card')];
      const card = cards.find((c) => c.querySelector('.label').textContent === 'pending');
      return Number(card.querySelector('.value').textContent.replace(/,/g, ''));
    });
    const before = await pending();
    const other = await context.newPage();
    await other.goto(url);
    const cleared = await other.evaluate(async () => {
      const token = document.querySelector('meta[name="csrf-token"]').content;
      const response = await fetch('api/queue/clear', {
        method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': token},
        body: JSON.stringify({queue: 'live'})});
      return (await response.json()).removed;
    });
    check(cleared === 3, 'queue "live" cleared through the API (removed ' + cleared + ')');
    await page.waitForFunction((old) => {
      const cards = [...document.querySelectorAll('.card')];
      const card = cards.find((c) => c.querySelector('.label').textContent === 'pending');
      return Number(card.querySelector('.value').textContent.replace(/,/g, '')) === old - 3;
    }, before, {timeout: 10000});
    await other.close();

    // Queues, and the hostile queue's own page.
    await open(page, '#/queues', '#queues tbody tr');
    await assertInert(page, 'queues');
    await shot(page, 'queues');
    await page.click('#queues a');
    await page.waitForSelector('#jobs tbody tr td code');
    const jobClass = await page.textContent('#jobs tbody tr td code');
    check(jobClass === '<script>alert(2)</script>', 'job class shown as text, got ' + jobClass);
    check((await page.textContent('#jobs')).includes('</td><svg onload=alert(3)>'), 'job args shown as text');
    await assertInert(page, 'queue page');
    await shot(page, 'queue');

    // Workers: ours and the hostile Ruby-style id.
    await open(page, '#/workers', '#workers tbody tr');
    check((await page.textContent('#workers')).includes('evil<script>'), 'hostile worker host as text');
    await assertInert(page, 'workers');
    await shot(page, 'workers');

    // Failed: retry the f0 row with its button, then open one failure's page.
    await open(page, '#/failed', '#failures tbody tr');
    await assertInert(page, 'failed');
    await shot(page, 'failed');
    const rowOf = (text) => page.locator('#failures tbody tr', {hasText: text});
    await rowOf('["f0"]').locator('button.retry').click();
    await page.waitForSelector('.notice.ok', {timeout: 10000});
    const retried = await page.evaluate(async () => (await (await fetch('api/queue?name=mail')).json()).jobs);
    check(retried.length === 1 && retried[0].args === '["f0"]', 'f0 requeued to mail: ' + JSON.stringify(retried));

    await rowOf('<b>X</b>').locator('a').first().click();
    await page.waitForSelector('#failure pre.backtrace');
    const backtrace = await page.textContent('#failure pre.backtrace');
    check(backtrace === '<svg/onload=alert(6)>', 'backtrace shown as text, got ' + backtrace);
    await assertInert(page, 'failure page');
    await shot(page, 'failure');

    // Filter by class through the form.
    await open(page, '#/failed', '#failures tbody tr');
    await page.fill('#failure-filter input[name="class"]', 'Mailer');
    await page.click('#failure-filter button[type="submit"]');
    await page.waitForFunction(() => location.hash.includes('class=Mailer'));
    await page.waitForFunction(() => document.querySelectorAll('#failures tbody tr').length === 5);
    check(!(await page.textContent('#failures')).includes('<b>X</b>'), 'filter hides other classes');

    // Clear all (after its confirm), then the list is empty.
    await open(page, '#/failed', '#failures tbody tr');
    await page.click('#clear-failed');
    await page.waitForFunction(() => {
      const table = document.querySelector('#failures');
      return table && table.textContent.includes('No failures.');
    }, null, {timeout: 10000});
    await shot(page, 'failed-cleared');

    await open(page, '#/stats', '#redis-info tbody tr');
    check((await page.textContent('#keys')).includes('queue:mail'), 'keys listed');
    await assertInert(page, 'stats');
    await shot(page, 'stats');

    // Scheduler: the warning, the schedule and delayed jobs with hostile args as text,
    // and "Run now" enqueuing the schedule's job.
    await open(page, '#/scheduler', '#schedules tbody tr');
    check(await page.$('#overdue-warning'), 'overdue warning on the scheduler page');
    const schedules = await page.textContent('#schedules');
    check(schedules.includes('<script>alert(12)</script>'), 'schedule args shown as text');
    check(schedules.includes('"><img src=x onerror=alert(13)>'), 'schedule args shown as text');
    await page.waitForSelector('#delayed .delayed-job');
    const delayedText = await page.textContent('#delayed');
    check(delayedText.includes('"><img src=x onerror=alert(14)>'), 'delayed args shown as text');
    check(delayedText.includes('Retry'), 'the overdue job listed');
    await assertInert(page, 'scheduler');
    await shot(page, 'scheduler');
    await page.locator('#schedules tbody tr', {hasText: 'weekly_report'})
      .locator('button.run-now').click();
    const reports = async () => page.evaluate(async () =>
      (await (await fetch('api/queue?name=reports')).json()).jobs);
    let queued = [];
    for (let tries = 0; tries < 100 && queued.length === 0; tries += 1) {
      queued = await reports();
      if (!queued.length) await page.waitForTimeout(100);
    }
    check(queued.length === 1 && queued[0].class === 'WeeklyReport' &&
          JSON.parse(queued[0].args)[0] === '<script>alert(12)</script>',
          'Run now queued the schedule\'s job: ' + JSON.stringify(queued));
    await assertInert(page, 'scheduler after Run now');

    const alerts = dialogs.filter((d) => !d.startsWith('confirm'));
    check(alerts.length === 0, 'an injected dialog opened: ' + alerts.join('; '));
    check(dialogs.length >= 1, 'the clear-all button asked for confirmation');
    check(errors.length === 0, 'page errors: ' + errors.join('; '));
  } finally {
    await browser.close();
  }
}

main().then(
  () => { console.log('browser test passed; screenshots in ' + shots); },
  (error) => { console.error(error.stack || String(error)); process.exit(1); });
