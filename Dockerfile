# One image for every Meridian process; docker-compose.yml picks the command per service.
# syntax=docker/dockerfile:1

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps apps
COPY packages packages
# Only manifests matter for install; sources are copied again in the build stage.
RUN find apps packages -type f ! -name package.json -delete && npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=deps /app/apps apps
COPY --from=deps /app/packages packages
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/apps/scheduler/dist apps/scheduler/dist
COPY --from=build /app/apps/worker/dist apps/worker/dist
COPY --from=build /app/apps/site-api/dist apps/site-api/dist
COPY --from=build /app/apps/cli/dist apps/cli/dist
COPY --from=build /app/apps/topology-service/dist apps/topology-service/dist
RUN printf '#!/bin/sh\nexec node /app/apps/cli/dist/main.js "$@"\n' > /usr/local/bin/meridian && chmod +x /usr/local/bin/meridian \
 && mkdir -p /data && chown node:node /data
USER node
ENV STORAGE_ROOT=/data
CMD ["meridian", "--help"]
