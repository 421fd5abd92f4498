import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { assertUserTopicName, InvalidOptionsError, isValidGroupName } from '@herald/broker';
import type { MessageListenerOptions } from '../decorators/message-listener.decorator';
import type { TransactionalMessageOptions } from '../decorators/transactional-message.decorator';
import { InvalidDecoratedMethodError } from '../errors/invalid-decorated-method.error';
import { HeraldMetadataAccessor } from './herald-metadata.accessor';
import { HERALD_OPTIONS } from '../herald.constants';
import { inboxRetentionProblem } from '../herald-module-options';
import type { ResolvedHeraldOptions } from '../herald-module-options';
import { HeraldRuntime } from '../lifecycle/herald-runtime';
import { TransactionalMessageSender } from '../sending/transactional-message.sender';

export interface DiscoveredListener {
  options: MessageListenerOptions;
  instance: object;
  method: (payload: unknown, ctx: unknown) => unknown;
  /** `ClassName.method`, for errors and logs. */
  label: string;
}

type Method = (...args: unknown[]) => unknown;

/** Methods already wrapped, per instance: a provider discovered twice is wrapped once. */
const wrapped = new WeakMap<object, Set<string>>();

/**
 * Finds @TransactionalMessage and @MessageListener methods on providers and controllers
 * at module init: wraps the former (on the instance, so `this` and DI stay intact) and
 * hands the latter to MessageListenerRegistrar. Request-scoped providers are refused.
 */
@Injectable()
export class HeraldExplorer implements OnModuleInit {
  private readonly logger = new Logger('Herald');
  readonly listeners: DiscoveredListener[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: HeraldMetadataAccessor,
    private readonly sender: TransactionalMessageSender,
    private readonly runtime: HeraldRuntime,
    @Inject(HERALD_OPTIONS) private readonly options: ResolvedHeraldOptions,
  ) {}

  async onModuleInit(): Promise<void> {
    const { toWrap, topics } = this.discover();
    await this.runtime.connect(topics);
    for (const wrap of toWrap) wrap();
  }

  /** Validates every decorated method first, so nothing is wrapped or connected if one is refused. */
  private discover(): { toWrap: (() => void)[]; topics: string[] } {
    const toWrap: (() => void)[] = [];
    const topics: string[] = [];
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
          topics.push(messageOptions.topic);
          toWrap.push(() => this.wrapTransactionalMessage(instance, name, method as Method, messageOptions, label));
        }
        if (listenerOptions) {
          validateListener(listenerOptions, label);
          this.assertInboxOutlastsRetries(listenerOptions, label);
          topics.push(listenerOptions.topic);
          const owner = seenGroups.get(listenerOptions.group);
          if (owner !== undefined && owner !== label) {
            throw new InvalidDecoratedMethodError(
              label,
              `consumer group "${listenerOptions.group}" already has a listener (${owner}); use one group per listener`,
            );
          }
          if (owner === undefined) this.listeners.push({ options: listenerOptions, instance, method: method as DiscoveredListener['method'], label });
          seenGroups.set(listenerOptions.group, label);
        }
      }
    }
    return { toWrap, topics };
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

  private wrapTransactionalMessage(instance: object, name: string, method: Method, options: TransactionalMessageOptions, label: string): void {
    const done = wrapped.get(instance) ?? new Set<string>();
    if (done.has(name)) return;
    done.add(name);
    wrapped.set(instance, done);
    const sender = this.sender;
    Object.defineProperty(instance, name, {
      configurable: true,
      writable: true,
      value: function transactionalMessage(this: unknown, ...args: unknown[]): Promise<unknown> {
        return sender.send(options, instance, method, args);
      },
    });
    this.logger.log(`@TransactionalMessage ${label} → topic=${options.topic}${options.tag ? ` tag=${options.tag}` : ''}`);
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
    if (!isValidGroupName(options.group)) throw new InvalidOptionsError('group', 'must match ^[A-Za-z0-9_|-]{1,120}$');
    if (options.tag !== undefined && options.sql !== undefined) throw new InvalidOptionsError('sql', 'give either tag or sql, not both');
  } catch (error) {
    throw new InvalidDecoratedMethodError(label, error instanceof Error ? error.message : String(error));
  }
}
