/**
 * What the bridge tells the gateway about itself: the `hello` frame, and a
 * `models` frame whenever the handler's model list (or the device) changes.
 * Model ids and runner names outside the wire charset are left out (and
 * logged once each), since the gateway carries them in HTTP headers.
 */
import type { BridgeHandler, BridgeModelInfo } from '../bridge-handler.ts';
import {
  isValidModelId,
  isValidRunnerName,
  TUNNEL_PROTOCOL_VERSION,
  type BridgeDevice,
  type BridgeModel,
  type OutgoingFrame,
} from '../../protocol/tunnel-frames.ts';

export interface BridgeAnnouncerOptions {
  handler: BridgeHandler;
  bridgeId: string;
  version: string;
  capacity: { maxConcurrent: number; maxQueue: number };
  /** Asked again at every hello and model poll (see BridgeClientOptions.device). */
  device?: BridgeDevice | (() => BridgeDevice | undefined);
  log: (line: string) => void;
}

export class BridgeAnnouncer {
  private readonly options: BridgeAnnouncerOptions;
  private lastModels = '';
  private lastDevice = '';
  /** Model ids and runner names already reported as unusable on the wire (logged once each). */
  private readonly refusedNames = new Set<string>();

  constructor(options: BridgeAnnouncerOptions) {
    this.options = options;
  }

  /** The hello for a new connection; what it reports becomes the baseline for later changes. */
  async hello(): Promise<OutgoingFrame<'hello'>> {
    let models: BridgeModelInfo[] = [];
    try {
      models = await this.options.handler.listModels();
    } catch (error) {
      this.options.log(`could not list models: ${error instanceof Error ? error.message : String(error)}`);
    }
    const wireModels = this.wireModels(models);
    const device = this.device();
    this.lastModels = JSON.stringify(wireModels);
    this.lastDevice = JSON.stringify(device ?? null);
    return {
      t: 'hello',
      bridgeId: this.options.bridgeId,
      version: this.options.version,
      protocols: [TUNNEL_PROTOCOL_VERSION],
      runners: this.wireRunners(),
      models: wireModels,
      capacity: this.options.capacity,
      device,
    };
  }

  /** A `models` frame when the list or the device changed since the last report; undefined otherwise (or if listing fails). */
  async changes(): Promise<OutgoingFrame<'models'> | undefined> {
    let models: BridgeModel[];
    try {
      models = this.wireModels(await this.options.handler.listModels());
    } catch {
      return undefined;
    }
    const serialized = JSON.stringify(models);
    const device = this.device();
    const deviceSerialized = JSON.stringify(device ?? null);
    if (serialized === this.lastModels && deviceSerialized === this.lastDevice) return undefined;
    this.lastModels = serialized;
    const deviceChanged = deviceSerialized !== this.lastDevice;
    this.lastDevice = deviceSerialized;
    return { t: 'models', models, runners: this.wireRunners(), ...(deviceChanged && device ? { device } : {}) };
  }

  private device(): BridgeDevice | undefined {
    const device = this.options.device;
    try {
      return typeof device === 'function' ? device() : device;
    } catch {
      return undefined;
    }
  }

  /** The models the gateway can name: ids and runners outside the wire charset are left out (and logged once). */
  private wireModels(models: BridgeModelInfo[]): BridgeModel[] {
    return models.filter((model) => this.usable(model.id, isValidModelId, 'model id') && this.usable(model.runner, isValidRunnerName, 'runner name')).map(toBridgeModel);
  }

  private wireRunners(): string[] {
    return this.options.handler.runners().filter((name) => this.usable(name, isValidRunnerName, 'runner name'));
  }

  private usable(name: string, valid: (name: string) => boolean, what: string): boolean {
    if (valid(name)) return true;
    if (!this.refusedNames.has(name)) {
      this.refusedNames.add(name);
      this.options.log(`not offering ${what} ${JSON.stringify(name)}: only letters, digits and . _ - (ids also : @ + /) can travel in HTTP headers`);
    }
    return false;
  }
}

function toBridgeModel(model: BridgeModelInfo): BridgeModel {
  return { id: model.id, state: model.state, runner: model.runner, ...(model.bytes === undefined ? {} : { bytes: model.bytes }) };
}
