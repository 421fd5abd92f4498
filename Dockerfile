# One image for the three sample services; docker-compose.yml picks the service by its command.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json .swcrc ./
COPY apps ./apps
COPY libs ./libs
ENV HOST=0.0.0.0 NO_COLOR=1
EXPOSE 3001 3002 3003
CMD ["node", "-r", "@swc-node/register", "apps/order/src/main.ts"]
