/**
 * What the bridge tells the gateway about its machine (the hello frame's
 * `device`, shown by `GET /v1/bridge`): the chip and memory from Node, and
 * MLX's recommended working set once the worker has reported it.
 */
import { cpus, totalmem } from 'node:os';
import type { BridgeDevice } from '../../protocol/tunnel-frames.ts';

/** Longest chip name the frame schema accepts. */
const MAX_CHIP_CHARS = 128;

/** This machine, with `recommendedWorkingSetBytes` when MLX has told us. */
export function describeDevice(recommendedWorkingSetBytes?: number): BridgeDevice {
  const chip = cpus()[0]?.model.trim().slice(0, MAX_CHIP_CHARS);
  return {
    ...(chip ? { chip } : {}),
    memBytes: totalmem(),
    ...(recommendedWorkingSetBytes === undefined ? {} : { recommendedWorkingSetBytes }),
  };
}
