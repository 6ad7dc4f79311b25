import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OfflineServiceService } from '../../offline/index.ts';
import { LogicServiceService } from '../../logic/index.ts';
import { CLUSTER_PROCESSES } from '../processes.ts';
import { clusterApis, clusterCallers } from './callers.ts';

describe("the cluster's table of who may call what", () => {
  it('is the call graph of app/processes.ts: a role calls only services it calls there, and each of them', () => {
    const apis = clusterApis();
    for (const [role, process] of Object.entries(CLUSTER_PROCESSES)) {
      const reached = new Set(apis.filter((a) => a.callers.some((c) => c === role)).map((a) => a.servedBy));
      assert.deepEqual([...reached].sort(), [...process.calls].sort(), role);
    }
  });

  it("keeps offline's writes and logic's acts on behalf of a user to their only callers", () => {
    const write = OfflineServiceService.writeInbox.path;
    for (const role of Object.keys(CLUSTER_PROCESSES)) assert.equal(clusterCallers(role, write), false, role);
    const createGroup = LogicServiceService.createGroup.path;
    assert.deepEqual(
      Object.keys(CLUSTER_PROCESSES).filter((role) => clusterCallers(role, createGroup)),
      ['gateway'],
    );
    assert.equal(clusterCallers('gateway', '/im.v1.NoSuchService/Anything'), false);
  });
});
