# inferd container image. Build from the repository root:
#   docker build -t inferd .        (or: podman build --format docker -t inferd .)
# See docs/container.md; scripts/container/ builds and tests it where no registry is reachable.

# Any Debian-based Node.js 20 image with npm (the build stage runs it).
ARG BASE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, compile src/ to dist/, then drop the dev dependencies ----
FROM ${BASE_IMAGE} AS build
WORKDIR /app
# onnxruntime-node's postinstall would download its CUDA providers from NuGet (hundreds of MB,
# and a failed download fails `npm ci`); the CPU binaries are inside the npm package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
# Behind a TLS-inspecting proxy, give npm its CA bundle (only this stage sees it), with podman:
#   --build-arg NODE_EXTRA_CA_CERTS=/run/ca.crt -v /etc/ssl/certs/ca-certificates.crt:/run/ca.crt:ro
ARG NODE_EXTRA_CA_CERTS
COPY package.json package-lock.json ./
# --ignore-scripts: the project's own `prepare` (a build) needs src/, copied below, and
# no dependency needs its install script here: onnxruntime-node and @duckdb/node-bindings ship
# prebuilt binaries, so nothing compiles (no python3/make/g++), and onnxruntime-node's script
# only fetches the CUDA providers skipped above.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# build:release compiles without source maps: they would point at src/, which is not copied
# on. onnxruntime-node carries binaries for every platform (~300 MB); keep only this one's.
RUN npm run build:release \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
  && ort=node_modules/onnxruntime-node/bin/napi-v6 \
  && keep="$ort/$(node -p 'process.platform + "/" + process.arch')" \
  && test -d "$keep" \
  && find "$ort" -mindepth 2 -maxdepth 2 -type d ! -path "$keep" -exec rm -rf {} +

# ---- runtime: production node_modules, dist/ and the files the server reads ----
FROM ${BASE_IMAGE}
ENV NODE_ENV=production
# glibc's malloc raises its mmap threshold to the size of each large block freed, after which the
# weights of models loaded later come from heaps that keep freed memory resident: models unloaded
# by --model-memory-budget (or replaced by a reload) would not give their memory back. A fixed
# threshold ends that adjustment (README "Performance", docs/architecture.md "Memory budget").
ENV MALLOC_MMAP_THRESHOLD_=1048576
WORKDIR /app
# Application files stay owned by root: uid 1000 can read them, not change them.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY proto ./proto
COPY examples ./examples
# The batch API (/v1/files, /v1/batches) writes under --batch-dir, `.inferd/batches` relative
# to the working directory by default. /var/lib/inferd is the one writable folder; /app/.inferd
# points at it so that a command line without --batch-dir also works.
RUN mkdir -p /var/lib/inferd \
  && chown 1000:1000 /var/lib/inferd \
  && ln -s /var/lib/inferd /app/.inferd
USER 1000:1000

# REST (KServe v2, OpenAI-compatible), gRPC, Prometheus metrics.
EXPOSE 8000 8001 8002

# node runs as PID 1 (exec form, no shell in between) and gets the stop signal itself. No
# `--init` or tini is needed: the server handles SIGTERM and SIGINT (stops taking work, drains
# in-flight requests, exits 0), and it starts no child processes that would need reaping.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/inferd.js"]
CMD ["serve", "--model-repository=/app/examples/models", "--host=0.0.0.0", "--batch-dir=/var/lib/inferd/batches"]

# Ready once the models are loaded; false again while draining on shutdown. Uses node's fetch,
# so the image needs no curl. A command line with another --http-port needs its own check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/v2/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
