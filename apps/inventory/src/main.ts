// first: instruments http and pg before anything loads them (when SAMPLE_TRACE_DIR is set)
import '../../shared/src/tracing';
import { bootstrapService } from '../../shared/src/bootstrap';
import { readServiceConfig } from '../../shared/src/service-config';
import { inventoryAppModule } from './app.module';

const config = readServiceConfig(3002);
bootstrapService('inventory', inventoryAppModule(config), config.port).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
