# One image for the three sample services; docker-compose.yml picks the service by its command.
# Build stage: every dependency, the TypeScript compiler, `tsc -b` to dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/broker/package.json libs/broker/
COPY libs/testing/package.json libs/testing/
COPY libs/transaction/package.json libs/transaction/
# the workspace list names it; only its package.json, the suite's harness stays out of the image
COPY test/support/package.json test/support/
RUN npm ci --ignore-scripts
COPY tsconfig.base.json tsconfig.apps.json ./
COPY libs ./libs
COPY apps ./apps
RUN npx tsc -b tsconfig.apps.json

# Runtime stage: compiled JavaScript and production dependencies only (no compiler, no
# embedded PostgreSQL, no test or benchmark tooling), run as the image's unprivileged `node` user.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 NO_COLOR=1
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/broker/package.json libs/broker/
COPY libs/transaction/package.json libs/transaction/
RUN npm ci --omit=dev --ignore-scripts --workspace=@herald/broker --workspace=@herald/transaction --include-workspace-root \
  && npm cache clean --force
COPY --from=build /app/libs/broker/dist libs/broker/dist
COPY --from=build /app/libs/broker/migrations libs/broker/migrations
COPY --from=build /app/libs/broker/sql libs/broker/sql
COPY --from=build /app/libs/transaction/dist libs/transaction/dist
COPY --from=build /app/libs/transaction/migrations libs/transaction/migrations
COPY --from=build /app/dist/apps/shared dist/apps/shared
COPY --from=build /app/dist/apps/order dist/apps/order
COPY --from=build /app/dist/apps/inventory dist/apps/inventory
COPY --from=build /app/dist/apps/logistics dist/apps/logistics
USER node
EXPOSE 3001 3002 3003
CMD ["node", "--enable-source-maps", "dist/apps/order/src/main.js"]
