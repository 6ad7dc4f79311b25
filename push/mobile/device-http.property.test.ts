import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PushRegistration } from '../../proto/gen/im/v1/client.pb.ts';
import { anyTokenIsAlice, assertAnswered, callApi } from '../../test/fuzz/http-target.ts';
import { anyBody, mutatedJsonAny } from '../../test/fuzz/json-mutations.ts';
import { DEVICE_HTTP_PATH, deviceHttpHandler } from './device-http.ts';
import { MemoryDeviceTokenStore } from './device-token-store.memory.ts';
import { Devices } from './devices.ts';

/** A registration the API takes, for either provider. */
const validRegistration = fc.oneof(
  fc.record({
    platform: fc.constant('apns'),
    token: fc.stringMatching(/^[0-9a-f]{64}$/),
    topic: fc.constantFrom('com.example.app', 'com.example.app.voip'),
    environment: fc.constantFrom('production', 'sandbox'),
    locale: fc.constantFrom('', 'en-US', 'de'),
    previews: fc.boolean(),
  }),
  fc.record(
    {
      platform: fc.constant('fcm'),
      token: fc.stringMatching(/^[\x21-\x7e]{1,200}$/),
      topic: fc.constantFrom('', 'com.example.app'),
      previews: fc.boolean(),
    },
    { requiredKeys: ['platform', 'token'] },
  ),
);

describe('PUT /v1/push/device bodies, properties', () => {
  const store = new MemoryDeviceTokenStore();
  const devices = new Devices(store);
  const registered: PushRegistration[] = [];
  const handler = deviceHttpHandler(
    {
      registerDevice: async ({ user, device, registration }) => {
        assert.ok(registration, 'a registration reached the push service');
        registered.push(registration);
        return devices.register(user, device, registration);
      },
      unregisterDevice: ({ user, device }) => devices.unregister(user, device),
    },
    anyTokenIsAlice,
  );
  const put = (body: Uint8Array) =>
    callApi(handler, { method: 'PUT', url: DEVICE_HTTP_PATH, headers: { authorization: 'Bearer t' }, body });

  it('registers every valid registration as sent', async () => {
    await fc.assert(
      fc.asyncProperty(validRegistration, async (r) => {
        assert.equal((await put(Buffer.from(JSON.stringify(r)))).status, 200);
        assert.deepEqual(
          { ...registered.at(-1) },
          { topic: '', environment: '', locale: '', previews: false, ...r },
          'what reached the push service',
        );
      }),
      { numRuns: 200 },
    );
  });

  it('answers any body, and mutations of valid ones, with 200 or a 400 INVALID_ARGUMENT', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyBody, mutatedJsonAny(validRegistration)), async (body) => {
        assertAnswered(await put(body), ['INVALID_ARGUMENT']);
      }),
      { numRuns: 400 },
    );
  });
});
