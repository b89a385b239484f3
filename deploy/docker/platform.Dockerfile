# syntax=docker/dockerfile:1
# The platform image: `zeno up` (gateway, activator, autoscaler, controller,
# broker ingress in one process), as deploy/kubernetes/40-platform.yaml runs it.
#
#   docker build -f deploy/docker/platform.Dockerfile -t ghcr.io/zeno/platform:0.1.0 .
#
# Build context: the repository root (see .dockerignore). Needs the npm
# registry and the node:20 base image; nothing else is downloaded.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 compiles its SQLite when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Scripts off: "prepare" would compile sources not copied yet; the one native
# dependency package.json allows (allowScripts) is built explicitly.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY core ./core
COPY controller ./controller
COPY gateway ./gateway
COPY activator ./activator
COPY autoscaler ./autoscaler
COPY eventing ./eventing
COPY functions ./functions
COPY cli ./cli
COPY deploy ./deploy
# Tests are not part of the image: test files and the contract suites (they import vitest and test/, not copied).
RUN find core controller gateway activator autoscaler eventing functions cli deploy -name '*.test.ts' -delete \
 && rm functions/runtime-contract.ts eventing/log/contract.ts \
 && npx tsc -p tsconfig.json \
 && node dist/functions/node/bundle.js \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /zeno
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# Read at run time: the dashboard's page, `zeno new`'s templates, `zeno up --examples`.
COPY ui ./ui
COPY templates ./templates
COPY functions/examples ./functions/examples
# The data dir (SQLite, admin token): a volume in the cluster, writable without one too.
RUN mkdir -p /var/lib/zeno && chown node:node /var/lib/zeno
# The base image's unprivileged user (uid 1000), as the Deployment's securityContext expects.
USER node
EXPOSE 8080 8081
ENTRYPOINT ["node", "/zeno/dist/cli/main.js"]
CMD ["up", "--runtime", "kubernetes", "--host", "0.0.0.0", "--data-dir", "/var/lib/zeno"]
