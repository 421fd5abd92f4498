import { bootstrapService } from '../../shared/src/bootstrap';
import { readServiceConfig } from '../../shared/src/service-config';
import { inventoryAppModule } from './app.module';

const config = readServiceConfig(3002);
bootstrapService('inventory', inventoryAppModule(config), config.port).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
