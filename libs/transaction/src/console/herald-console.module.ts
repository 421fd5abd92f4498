import type { IncomingMessage, ServerResponse } from 'node:http';
import { All, CanActivate, Controller, DynamicModule, Inject, Module, Param, Req, Res, Type, UseGuards } from '@nestjs/common';
import { ConsoleHandler, ConsoleOptions, createConsoleHandler } from '@herald/broker';
import { ModuleRef } from '@nestjs/core';
import { HeraldRuntime } from '../lifecycle/herald-runtime';

export interface HeraldConsoleModuleOptions {
  /** Where the console is mounted, under the app's global prefix. Default `herald`. */
  path?: string;
  /** Refuse every change, on the server. Default false. */
  readOnly?: boolean;
  /**
   * Who the request is from and what they may do (`{ name, role }`, role `viewer`,
   * `operator` or `admin`), or null to refuse it. Runs after the app's guards and `guards`.
   * Default: everyone who gets through the guards is a viewer.
   */
  authorize?: ConsoleOptions['authorize'];
  /** Guards for the console's routes, besides the app's global ones. */
  guards?: Type<CanActivate>[];
}

const HERALD_CONSOLE_OPTIONS = Symbol('HERALD_CONSOLE_OPTIONS');

interface ExpressLikeRequest extends IncomingMessage {
  originalUrl?: string;
}

function consoleController(path: string, guards: Type<CanActivate>[]): Type<unknown> {
  @Controller(path)
  class HeraldConsoleController {
    private handler: ConsoleHandler | null = null;

    constructor(
      private readonly moduleRef: ModuleRef,
      @Inject(HERALD_CONSOLE_OPTIONS) private readonly options: HeraldConsoleModuleOptions,
    ) {}

    @All(['', '*path'])
    async serve(@Req() req: ExpressLikeRequest, @Res() res: ServerResponse, @Param('path') rest?: string[] | string): Promise<void> {
      const segments = Array.isArray(rest) ? rest : typeof rest === 'string' && rest !== '' ? rest.split('/') : [];
      const url = new URL(req.originalUrl ?? req.url ?? '/', 'http://console.invalid');
      // relative links need the console's root to end with a slash
      if (segments.length === 0 && !url.pathname.endsWith('/')) {
        res.statusCode = 308;
        res.setHeader('Location', `${url.pathname.split('/').pop() ?? ''}/${url.search}`);
        res.end();
        return;
      }
      // the broker connects at bootstrap: the handler is made on the first request
      // HeraldModule's runtime, wherever the app imports it (not strict: it need not be global)
      this.handler ??= createConsoleHandler({
        broker: this.moduleRef.get(HeraldRuntime, { strict: false }).broker,
        readOnly: this.options.readOnly ?? false,
        ...(this.options.authorize ? { authorize: this.options.authorize } : {}),
      });
      await this.handler(req, res, `/${segments.join('/')}`);
    }
  }
  if (guards.length > 0) UseGuards(...guards)(HeraldConsoleController);
  return HeraldConsoleController;
}

/**
 * Herald's web console in a Nest app, on the broker of `HeraldModule`:
 * `HeraldConsoleModule.forRoot({ path: 'herald', authorize, guards })`. Its routes go
 * through the app's guards (and `guards`), and it works under any global prefix.
 */
@Module({})
export class HeraldConsoleModule {
  static forRoot(options: HeraldConsoleModuleOptions = {}): DynamicModule {
    const path = (options.path ?? 'herald').replace(/^\/+|\/+$/g, '');
    return {
      module: HeraldConsoleModule,
      controllers: [consoleController(path, options.guards ?? [])],
      providers: [{ provide: HERALD_CONSOLE_OPTIONS, useValue: options }],
    };
  }
}
