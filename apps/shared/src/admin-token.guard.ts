import { CanActivate, DynamicModule, ExecutionContext, Global, Inject, Injectable, Module, UnauthorizedException } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';

/** Injection token of the configured ADMIN_TOKEN. */
export const ADMIN_TOKEN = Symbol('ADMIN_TOKEN');

// Hashing both sides gives timingSafeEqual equal lengths, so neither the content nor the length of the token shows in the timing.
const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

interface HttpRequest {
  headers: Record<string, string | string[] | undefined>;
}

interface HttpResponse {
  setHeader(name: string, value: string): void;
}

/** Every /admin endpoint: `Authorization: Bearer <ADMIN_TOKEN>`, or 401. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(ADMIN_TOKEN) token: string) {
    this.expected = digest(token);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const header = http.getRequest<HttpRequest>().headers.authorization;
    const presented = typeof header === 'string' ? /^Bearer +(\S+)$/i.exec(header)?.[1] : undefined;
    if (presented !== undefined && timingSafeEqual(digest(presented), this.expected)) return true;
    http.getResponse<HttpResponse>().setHeader('WWW-Authenticate', 'Bearer realm="admin"');
    throw new UnauthorizedException('admin endpoints need Authorization: Bearer <ADMIN_TOKEN>');
  }
}

/** Provides the token to AdminTokenGuard wherever an admin controller is mounted. */
@Global()
@Module({})
export class AdminTokenModule {
  static register(token: string): DynamicModule {
    return { module: AdminTokenModule, providers: [{ provide: ADMIN_TOKEN, useValue: token }], exports: [ADMIN_TOKEN] };
  }
}
