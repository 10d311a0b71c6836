// Saves a screenshot of one dashboard page (used for docs/dashboard-overview.png).
//
//   node screenshot.js URL OUTPUT.png [HASH=#/overview]
'use strict';

const {chromium} = require('playwright-core');

async function main() {
  const [url, output, hash] = process.argv.slice(2);
  if (!url || !output) throw new Error('usage: node screenshot.js URL OUTPUT.png [HASH]');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({viewport: {width: 1280, height: 900}});
    await page.goto(url + (hash || '#/overview'));
    await page.waitForSelector('main table, main .cards', {timeout: 15000});
    await page.waitForTimeout(500);
    await page.screenshot({path: output, fullPage: true});
  } finally {
    await browser.close();
  }
}

main().catch((error) => { console.error(error.message); process.exit(1); });
