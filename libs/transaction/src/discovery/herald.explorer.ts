import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { InvalidOptionsError } from '@herald/broker';
import { assertUserTopicName, assertGroupName } from '@herald/broker/internal';
import type { MessageListenerOptions } from '../decorators/message-listener.decorator';
import type { TransactionalMessageOptions } from '../decorators/transactional-message.decorator';
import { InvalidDecoratedMethodError } from '../errors/invalid-decorated-method.error';
import { HERALD_OPTIONS } from '../herald.constants';
import { inboxRetentionProblem } from '../herald-module-options';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { HeraldMetadataAccessor } from './herald-metadata.accessor';

/** A @TransactionalMessage method, to be wrapped on its instance. */
export interface DiscoveredTransactionalMethod {
  options: TransactionalMessageOptions;
  instance: object;
  name: string;
  method: (...args: unknown[]) => unknown;
  /** `ClassName.method`, for errors and logs. */
  label: string;
}

export interface DiscoveredListener {
  options: MessageListenerOptions;
  instance: object;
  method: (payload: unknown, ctx: unknown) => unknown;
  /** `ClassName.method`, for errors and logs. */
  label: string;
}

/** What the explorer found in the app, every entry validated. */
export interface DiscoveredHandlers {
  transactionalMethods: DiscoveredTransactionalMethod[];
  /** One per consumer group. */
  listeners: DiscoveredListener[];
  /** Topics named by the decorators, for `createTopics` (may repeat). */
  topics: string[];
}

/**
 * Finds @TransactionalMessage and @MessageListener methods on providers and controllers and
 * validates them; it wraps nothing and connects nothing (HeraldLifecycle acts on what it
 * found). Request-scoped providers are refused. Keeps its last result for the health
 * indicator's consumer groups.
 */
@Injectable()
export class HeraldExplorer {
  private found: DiscoveredHandlers | null = null;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: HeraldMetadataAccessor,
    @Inject(HERALD_OPTIONS) private readonly options: ResolvedHeraldOptions,
  ) {}

  /** Consumer groups of this app's listeners (none before module init). */
  get listenerGroups(): string[] {
    return (this.found?.listeners ?? []).map((listener) => listener.options.group);
  }

  /** Validates every decorated method before returning any, so nothing is wrapped or connected if one is refused (InvalidDecoratedMethodError). */
  explore(): DiscoveredHandlers {
    const found: DiscoveredHandlers = { transactionalMethods: [], listeners: [], topics: [] };
    const seenGroups = new Map<string, string>();
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const instance: unknown = wrapper.instance;
      if (instance === null || typeof instance !== 'object') continue;
      const prototype: unknown = Object.getPrototypeOf(instance);
      if (prototype === null || typeof prototype !== 'object') continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = (prototype as Record<string, unknown>)[name];
        if (typeof method !== 'function') continue;
        const messageOptions = this.accessor.transactionalMessage(method);
        const listenerOptions = this.accessor.messageListener(method);
        if (!messageOptions && !listenerOptions) continue;
        const label = `${instance.constructor.name}.${name}`;
        this.assertStatic(wrapper, label);
        if (messageOptions && listenerOptions)
          throw new InvalidDecoratedMethodError(label, 'a method cannot be both @TransactionalMessage and @MessageListener');
        if (messageOptions) {
          validateMessage(messageOptions, label);
          found.topics.push(messageOptions.topic);
          found.transactionalMethods.push({ options: messageOptions, instance, name, method: method as DiscoveredTransactionalMethod['method'], label });
        }
        if (listenerOptions) {
          validateListener(listenerOptions, label);
          this.assertInboxOutlastsRetries(listenerOptions, label);
          found.topics.push(listenerOptions.topic);
          const owner = seenGroups.get(listenerOptions.group);
          if (owner !== undefined && owner !== label) {
            throw new InvalidDecoratedMethodError(
              label,
              `consumer group "${listenerOptions.group}" already has a listener (${owner}); use one group per listener`,
            );
          }
          if (owner === undefined) found.listeners.push({ options: listenerOptions, instance, method: method as DiscoveredListener['method'], label });
          seenGroups.set(listenerOptions.group, label);
        }
      }
    }
    this.found = found;
    return found;
  }

  private assertStatic(wrapper: InstanceWrapper, label: string): void {
    if (!wrapper.isDependencyTreeStatic()) {
      throw new InvalidDecoratedMethodError(
        label,
        'it is on a request-scoped (or transient-dependent) provider; Herald calls it outside any request, so declare it on a singleton provider',
      );
    }
  }

  /** The module options were checked with the module's maxReconsumeTimes; a listener's own may retry for longer. */
  private assertInboxOutlastsRetries(options: MessageListenerOptions, label: string): void {
    if (typeof options.maxReconsumeTimes !== 'number') return;
    const problem = inboxRetentionProblem(this.options, options.maxReconsumeTimes);
    if (problem !== null)
      throw new InvalidDecoratedMethodError(
        label,
        `its maxReconsumeTimes ${options.maxReconsumeTimes} retries past the inbox retention: ${problem}; raise inboxRetention or lower maxReconsumeTimes`,
      );
  }
}

function validateMessage(options: TransactionalMessageOptions, label: string): void {
  try {
    if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be { topic, ... }');
    assertUserTopicName(options.topic);
    for (const field of ['keys', 'body'] as const) {
      if (options[field] !== undefined && typeof options[field] !== 'function')
        throw new InvalidOptionsError(field, 'must be a function (result, ...args) => value');
    }
  } catch (error) {
    throw new InvalidDecoratedMethodError(label, error instanceof Error ? error.message : String(error));
  }
}

function validateListener(options: MessageListenerOptions, label: string): void {
  try {
    if (options === null || typeof options !== 'object') throw new InvalidOptionsError('options', 'must be { topic, group, ... }');
    assertUserTopicName(options.topic);
    assertGroupName(options.group);
    if (options.tag !== undefined && options.sql !== undefined) throw new InvalidOptionsError('sql', 'give either tag or sql, not both');
  } catch (error) {
    throw new InvalidDecoratedMethodError(label, error instanceof Error ? error.message : String(error));
  }
}
