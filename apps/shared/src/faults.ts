import { Body, Controller, DynamicModule, Get, Global, HttpCode, Injectable, Module, Post, UseGuards } from '@nestjs/common';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, Min, ValidateIf } from 'class-validator';
import { AdminTokenGuard } from './admin-token.guard';
import type { InitialFaults, ServiceConfig } from './service-config';

/**
 * Fault injection for demos and tests, only with FAULTS_ENABLED=1: through the FAULT_* environment
 * variables at start (ServiceConfig.faults), or POST /admin/faults (with ADMIN_TOKEN). Without
 * FAULTS_ENABLED every fault stays off for good.
 */
@Injectable()
export class Faults implements InitialFaults {
  /** Listener deliveries still to fail. */
  failNext = 0;
  /** A SKU whose orders always fail in the inventory listener (a poison message). */
  poisonSku: string | null = null;
  /** Kill this process (SIGKILL) right after the next local commit, before its broker commit. */
  crashAfterLocalCommit = false;

  /** Throws if this delivery should fail. */
  failIfInjected(skus: string[]): void {
    if (this.poisonSku !== null && skus.includes(this.poisonSku)) throw new Error(`injected fault: poison SKU ${this.poisonSku}`);
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error(`injected fault: failing (${this.failNext} more to fail)`);
    }
  }

  /** HeraldModule's onLocalCommit hook. */
  afterLocalCommit(): void {
    if (!this.crashAfterLocalCommit) return;
    console.log('FAULT crash after local commit, before the broker commit');
    process.kill(process.pid, 'SIGKILL');
  }
}

export class FaultsDto {
  @IsOptional() @IsInt() @Min(0) @Max(100_000) failNext?: number;
  @IsOptional() @ValidateIf((_, value) => value !== null) @IsString() @Matches(/^[A-Za-z0-9-]{1,32}$/) poisonSku?: string | null;
  @IsOptional() @IsBoolean() crashAfterLocalCommit?: boolean;
}

@Controller('admin/faults')
@UseGuards(AdminTokenGuard)
export class FaultsController {
  constructor(private readonly faults: Faults) {}

  @Get()
  get(): Pick<Faults, 'failNext' | 'poisonSku' | 'crashAfterLocalCommit'> {
    const { failNext, poisonSku, crashAfterLocalCommit } = this.faults;
    return { failNext, poisonSku, crashAfterLocalCommit };
  }

  @Post()
  @HttpCode(200)
  set(@Body() dto: FaultsDto): Pick<Faults, 'failNext' | 'poisonSku' | 'crashAfterLocalCommit'> {
    if (dto.failNext !== undefined) this.faults.failNext = dto.failNext;
    if (dto.poisonSku !== undefined) this.faults.poisonSku = dto.poisonSku;
    if (dto.crashAfterLocalCommit !== undefined) this.faults.crashAfterLocalCommit = dto.crashAfterLocalCommit;
    return this.get();
  }
}

@Global()
@Module({})
export class FaultsModule {
  /** The listeners always get a Faults; its endpoint exists only with fault injection on and an ADMIN_TOKEN. */
  static register(config: Pick<ServiceConfig, 'faults' | 'adminToken'>): DynamicModule {
    return {
      module: FaultsModule,
      providers: [{ provide: Faults, useFactory: () => Object.assign(new Faults(), config.faults ?? {}) }],
      controllers: config.faults !== null && config.adminToken !== null ? [FaultsController] : [],
      exports: [Faults],
    };
  }
}
