/**
 * Workflow histories as proto3 JSON files (the format `temporal workflow show --output json`
 * writes). Same job as `historyToJSON`/`historyFromJSON` of @temporalio/common, which fail in
 * this install with "type must be a Type": @temporalio/common and @temporalio/proto each carry
 * their own nested copy of protobufjs 8 (a top-level protobufjs 7 prevents hoisting), so the
 * common's protojson does not recognise the proto package's types. Here protojson is loaded
 * from the very protobufjs copy @temporalio/proto uses.
 */
import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils.js';

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}
interface HistoryType {
  fromObject(o: unknown): unknown;
}

const requireHere = createRequire(import.meta.url);
const requireFromCommon = createRequire(requireHere.resolve('@temporalio/common'));
const protoMain = requireFromCommon.resolve('@temporalio/proto');
const requireFromProto = createRequire(protoMain);

const proto = requireFromProto('@temporalio/proto') as {
  temporal: { api: { history: { v1: { History: HistoryType } } } };
};
const { patchProtobufRoot } = requireFromProto('@temporalio/proto/lib/patch-protobuf-root') as {
  patchProtobufRoot: (root: unknown) => { lookupType(name: string): unknown };
};
const protojson = requireFromProto('protobufjs/ext/protojson') as ProtoJson;
const historyType = patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History');

/** Serialises a fetched history (`handle.fetchHistory()`) as pretty proto3 JSON. */
export function historyToJson(history: History): string {
  return JSON.stringify(
    protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)),
    null,
    2,
  );
}

/** Parses a proto3 JSON history into the object `Worker.runReplayHistories` takes. */
export function historyFromJson(json: unknown): History {
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
