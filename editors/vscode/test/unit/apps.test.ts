// "Runbridge: Open App…": the picker's entries and the forward's message and buttons.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appPickItems, forwardNotice, OPEN_IN_BROWSER, STOP_FORWARDING } from '../../src/core/apps';

describe('open app', () => {
  it("lists each app with the daemon's description of it", () => {
    const items = appPickItems([
      { name: 'jupyter', protocol: 'http', ports: [8081], description: 'http · port 8081' },
      { name: 'ttyd', protocol: 'tcp', ports: [7681, 7682], description: 'tcp · port 7681, 7682' },
      { name: 'bare', protocol: 'tcp', ports: [], description: 'tcp' },
    ]);
    assert.deepEqual(
      items.map((i) => [i.label, i.description, i.app]),
      [
        ['jupyter', 'http · port 8081', 'jupyter'],
        ['ttyd', 'tcp · port 7681, 7682', 'ttyd'],
        ['bare', 'tcp', 'bare'],
      ],
    );
  });

  it('offers the browser for http apps only', () => {
    const base = { appId: 'a1', session: 's', app: 'jupyter', localPort: 5000 };
    const http = forwardNotice({ ...base, protocol: 'http', url: 'http://127.0.0.1:5000/' });
    assert.equal(http.message, 'runbridge: app jupyter of session s is forwarded to http://127.0.0.1:5000/');
    assert.deepEqual(http.actions, [OPEN_IN_BROWSER, STOP_FORWARDING]);
    const tcp = forwardNotice({ ...base, app: 'ttyd', protocol: 'tcp', url: 'tcp://127.0.0.1:5000' });
    assert.deepEqual(tcp.actions, [STOP_FORWARDING]);
  });
});
