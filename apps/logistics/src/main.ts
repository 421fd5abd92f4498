import { bootstrapService } from '../../shared/src/bootstrap';
import { readServiceConfig } from '../../shared/src/service-config';
import { logisticsAppModule } from './app.module';

const config = readServiceConfig(3003);
bootstrapService('logistics', logisticsAppModule(config), config.port).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
