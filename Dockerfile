# syntax=docker/dockerfile:1.7
# kb-assistant image: one `kb` entry point for `serve`, `ingest`, `scheduler`, `snapshot`, `finetune`.
#
#   docker build -t kb-assistant .                              # the runtime image (last stage)
#   docker build --target test .                                # CI: the same commands as .ci/run
#   docker build --target trainer -t kb-assistant-trainer .     # + Python/torch for `kb finetune train` (amd64)
#   docker buildx build --platform linux/amd64,linux/arm64 -t REGISTRY/kb-assistant:TAG --push .
#
# The builder runs exactly .ci/run's install command (`npm ci --no-audit --no-fund`, which builds
# better-sqlite3 and hnswlib-node from source); the test stage runs its test command (`npm test`).

ARG NODE_VERSION=20
ARG DEBIAN_RELEASE=bookworm

# ---- builder: toolchain for the native modules (python3, make, g++ ship in the full node image)
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .

# ---- test: `docker build --target test .` runs the suite inside the image's toolchain
FROM builder AS test
RUN npm test

# ---- prune: runtime dependencies only (tsx runs the TypeScript sources: no build step), minus
# other platforms' onnxruntime binaries and native build intermediates
FROM builder AS prune
RUN npm prune --omit=dev --no-audit --no-fund \
 && sh deploy/docker/slim-node-modules.sh node_modules

# ---- runtime: slim, non-root, data on a volume
FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim AS runtime
ENV NODE_ENV=production \
    KB_DATA_DIR=/app/data \
    PORT=8080
WORKDIR /app
COPY --from=prune /app/node_modules ./node_modules
COPY --from=prune /app/package.json /app/package-lock.json /app/tsconfig.json ./
COPY --from=prune /app/bin ./bin
COPY --from=prune /app/cli ./cli
COPY --from=prune /app/config ./config
COPY --from=prune /app/src ./src
COPY --from=prune /app/serve ./serve
COPY --from=prune /app/ingest ./ingest
COPY --from=prune /app/finetune ./finetune
# The `node` user (uid 1000) of the base image owns only the data folder; the code stays root-owned.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 8080
# Liveness of the HTTP server (`kb serve`); other commands (ingest, scheduler) disable it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/kb.mjs"]
CMD ["serve"]

# ---- trainer: the runtime + Python with torch/transformers/peft for `kb finetune` on GPU nodes
FROM runtime AS trainer
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && chown -R node:node /opt/venv
USER node
COPY finetune/train/requirements.txt /tmp/requirements.txt
# On the GPU image pip takes PyPI's CUDA build of the pinned torch; bitsandbytes for QLoRA.
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt \
 && /opt/venv/bin/pip install --no-cache-dir "bitsandbytes>=0.43"
ENV KB_FINETUNE_RUNS__PYTHON=/opt/venv/bin/python
HEALTHCHECK NONE
CMD ["finetune", "schedule", "--once"]

# ---- default target: the API/ingestion image
FROM runtime
