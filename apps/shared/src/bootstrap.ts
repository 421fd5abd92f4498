import 'reflect-metadata';
import { INestApplication, Logger, Type, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/**
 * Starts a sample service: validation on every endpoint (unknown fields refused), graceful
 * shutdown on SIGTERM/SIGINT, and one "listening" line the demo and the tests wait for.
 */
export async function bootstrapService(name: string, module: Type<unknown>, port: number, host = process.env.HOST || '127.0.0.1'): Promise<INestApplication> {
  const app = await NestFactory.create(module, { logger: ['error', 'warn', 'log'] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.enableShutdownHooks();
  await app.listen(port, host);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('0.0.0.0', '127.0.0.1');
  new Logger(name).log(`listening on ${url}`);
  console.log(`READY ${name} ${url}`);
  return app;
}
