import { Injectable } from '@nestjs/common';
import { DEFAULT_DELAY_LEVELS, InvalidOptionsError } from '@herald/broker';
import { HeraldModule, HeraldModuleOptions, InvalidDecoratedMethodError, MessageListener } from '@herald/transaction';
import { ReservationRow } from './fixtures/order-inventory';
import { startService, useServiceDatabases } from './nest-harness';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const env = useServiceDatabases('inventory');

/** Retries 200 times: with RocketMQ's delay levels, the last ones 2 h apart, so copies live for about 15 days. */
@Injectable()
class PatientHandler {
  @MessageListener({ topic: 'orders', group: 'patient-inventory', maxReconsumeTimes: 200 })
  async reserve(): Promise<void> {}
}

function refusal(options: Partial<HeraldModuleOptions>): unknown {
  try {
    HeraldModule.forRoot({ broker: { connectionString: 'postgres://localhost/herald' }, producerGroup: 'order-service', ...options });
    return null;
  } catch (error) {
    return error;
  }
}

describe('retention options are checked against each other at startup', () => {
  it.each<[string, Partial<HeraldModuleOptions>, string, RegExp]>([
    ['an inbox (= log retention) shorter than the broker keeps messages', { retention: 2 * DAY }, 'retention', /inbox.*broker.*retention/i],
    ['an inboxRetention shorter than the broker keeps messages', { inboxRetention: 3 * DAY }, 'inboxRetention', /259200000/],
    ['a broker retention longer than the inbox', { broker: { connectionString: 'postgres://localhost/herald', retention: 10 * DAY } }, 'retention', /inbox/i],
    ['retries outliving the inbox', { maxReconsumeTimes: 100, inboxRetention: 5 * DAY }, 'inboxRetention', /retr/i],
    [
      'a log retention within the check-back window widened by the clock tolerance',
      { transactionTimeout: 1_000, checkInterval: 1_000, maxChecks: 1, retention: 2_500, clockTolerance: 1_000, inboxRetention: 7 * DAY },
      'retention',
      /check-back window/,
    ],
    ['a negative clock tolerance', { clockTolerance: -1 }, 'clockTolerance', /integer/],
  ])('refuses %s, naming the field', (_, options, field, message) => {
    const error = refusal(options);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS', field });
    expect(String(error)).toMatch(message);
  });

  it('accepts the defaults and an inbox outliving broker retention plus retries', () => {
    expect(refusal({})).toBeNull();
    expect(refusal({ broker: { connectionString: 'postgres://localhost/herald', retention: 12 * HOUR }, inboxRetention: DAY, retention: DAY })).toBeNull();
  });

  it("refuses at startup a listener whose own maxReconsumeTimes keeps retries beyond the inbox's retention", async () => {
    const starting = startService({
      name: 'patient-service',
      dbUrl: env.urls.inventory,
      brokerUrl: env.urls.broker,
      entities: [ReservationRow],
      providers: [PatientHandler],
      herald: { broker: { delayLevels: DEFAULT_DELAY_LEVELS } },
    });
    await expect(starting).rejects.toThrow(InvalidDecoratedMethodError);
    await expect(starting).rejects.toThrow(/PatientHandler\.reserve.*inboxRetention/);
  });
});
