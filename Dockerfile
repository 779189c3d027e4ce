# The iocflow worker. Build: docker build -t iocflow .   Run: see docker-compose.yml.

FROM node:20-bookworm-slim AS deps
# better-sqlite3 compiles its native addon where no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json worker.ts ./
COPY bin ./bin
COPY activities ./activities
COPY workflows ./workflows
COPY src ./src
COPY drizzle ./drizzle
COPY examples ./examples
RUN mkdir -p /var/lib/iocflow && chown node:node /var/lib/iocflow
USER node
VOLUME ["/var/lib/iocflow"]
ENTRYPOINT ["node", "bin/iocflow.js"]
CMD ["worker"]
