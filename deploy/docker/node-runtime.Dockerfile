# syntax=docker/dockerfile:1
# The Node function runtime (functions/node): serves a handler module's
# default export (a fetch handler, or {fetch, cloudevent}) on $PORT, with
# Knative's runtime contract (PORT, K_SERVICE, K_REVISION; SIGTERM drains).
#
#   docker build -f deploy/docker/node-runtime.Dockerfile -t ghcr.io/zeno/node-runtime:0.1.0 .
#
# A function image builds on it:
#
#   FROM ghcr.io/zeno/node-runtime:0.1.0
#   COPY hello.ts /function/
#   CMD ["/function/hello.ts"]
#
# and a Service runs it on Kubernetes with `image:` only. Build context: the
# repository root. Needs the npm registry and the node:20 base image.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
# The runtime imports nothing of the platform's (only node: modules, cloudevents, esbuild).
COPY functions/node ./functions/node
RUN rm -f functions/node/*.test.ts functions/node/measure.ts \
 && npx tsc --module nodenext --moduleResolution nodenext --target es2022 --strict --skipLibCheck --types node \
      --rootDir . --outDir dist functions/node/main.ts functions/node/bundle.ts \
 && node dist/functions/node/bundle.js
# bundle.js wrote runtime.cjs (the runtime in one file) and web-classes.cjs
# (undici's Request/Response/Headers/FormData) into dist/functions/node:
# undici is in them, so the image needs no undici package.
# Only what the runtime imports, at the versions package-lock.json pins:
# cloudevents (the CloudEvents codec) and esbuild (TypeScript handlers).
RUN mkdir /runtime \
 && node -e "const l=require('./package-lock.json').packages; const v=(n)=>l['node_modules/'+n].version; require('fs').writeFileSync('/runtime/package.json', JSON.stringify({name:'zeno-node-runtime',private:true,type:'module',dependencies:{cloudevents:v('cloudevents'),esbuild:v('esbuild')}}))" \
 && cd /runtime && npm install --omit=dev --no-audit --no-fund \
 && cp -r /src/dist /runtime/dist

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /zeno
COPY --from=build /runtime ./
USER node
EXPOSE 8080
# runtime.cjs is main.js's runtime in one file: the same process, without ES module loading at start.
ENTRYPOINT ["node", "/zeno/dist/functions/node/runtime.cjs"]
CMD ["/function/handler.js"]
