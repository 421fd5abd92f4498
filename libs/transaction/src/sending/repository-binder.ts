import { Inject, Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import type { DataSource, EntityManager, ObjectLiteral, Repository } from 'typeorm';
import { HERALD_DATA_SOURCE, HERALD_TRANSACTION_HOST } from '../herald.constants';

const bound = new WeakSet<object>();

/**
 * Makes the DataSource's repositories (what `@InjectRepository` hands out) run on the
 * current @nestjs-cls/transactional transaction when one is active, so code inside a
 * @TransactionalMessage method or a listener needs no manager threading. Outside a
 * transaction they behave as before.
 */
@Injectable()
export class RepositoryBinder {
  constructor(
    @Inject(HERALD_DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(HERALD_TRANSACTION_HOST) private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
  ) {}

  /** Binds the repositories made so far and those made later; once per DataSource. */
  bind(): void {
    const { txHost } = this;
    const root = this.dataSource.manager;
    if (bound.has(root)) return;
    bound.add(root);
    const bind = (repository: Repository<ObjectLiteral>): void => {
      if (bound.has(repository)) return;
      bound.add(repository);
      Object.defineProperty(repository, 'manager', {
        configurable: true,
        get: (): EntityManager => (txHost.isTransactionActive() ? txHost.tx : root),
      });
    };
    // repositories created before this point (TypeORM keeps them in a protected map)
    for (const repository of (root as unknown as { repositories: Map<unknown, Repository<ObjectLiteral>> }).repositories.values()) bind(repository);
    const getRepository = root.getRepository.bind(root);
    root.getRepository = (target) => {
      const repository = getRepository(target);
      bind(repository);
      return repository;
    };
  }
}
