# syntax=docker/dockerfile:1
# SageMaker-compatible image classification server. It serves as root (SageMaker's default) or
# as any other uid, e.g. 1000 (the base image's `node` user) with a read-only root filesystem:
# it writes only under /tmp (Kubernetes manifests: deploy/k8s/).
#   CPU:  docker build -t image-classification .
#   GPU:  docker build -t image-classification:gpu \
#           --build-arg RUNTIME_BASE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 \
#           --build-arg ORT_NODE_INSTALL=cuda12 .
#   (build_and_push.sh --gpu passes both.)
# Node 24 is the LTS line that both the official Node images and AWS Lambda (nodejs24.x) offer.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim
ARG RUNTIME_BASE=${NODE_IMAGE}

FROM ${NODE_IMAGE} AS build
# skip: the CPU build needs no CUDA download; cuda12: fetch ORT's CUDA execution provider.
ARG ORT_NODE_INSTALL=skip
# Set by the builder for the platform being built (docker buildx, buildah); amd64 when unset.
ARG TARGETARCH
WORKDIR /build
COPY package.json package-lock.json .npmrc ./
# package.json's allowScripts denies onnxruntime-node's install script (see .npmrc): a GPU
# build runs it here, on purpose, with the setting the script reads.
RUN npm ci --no-audit --no-fund \
 && if [ "${ORT_NODE_INSTALL}" != skip ]; then \
      ONNXRUNTIME_NODE_INSTALL=${ORT_NODE_INSTALL} node node_modules/onnxruntime-node/script/install.js; fi
COPY tsconfig.json tsconfig.build.json ./
COPY image_classification ./image_classification
# onnxruntime-node ships its native library for every platform (~240 MB for darwin, win32 and
# the other Linux architecture): keep only the one this image runs. Type declarations, source
# maps and docs of the dependencies are not run either (licences stay).
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --no-audit --no-fund \
 && find node_modules -type f \( -name '*.d.ts' -o -name '*.d.[cm]ts' -o -name '*.map' -o -name '*.md' \) \
      ! -iname 'licen[cs]e*' -delete \
 && arch=$([ "${TARGETARCH:-amd64}" = arm64 ] && echo arm64 || echo x64) \
 && ort=node_modules/onnxruntime-node/bin \
 && ls -d ${ort}/napi-v*/linux/${arch} >/dev/null \
 && find ${ort}/napi-v* -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
 && find ${ort}/napi-v*/linux -mindepth 1 -maxdepth 1 ! -name "${arch}" -exec rm -rf {} +

FROM ${RUNTIME_BASE}
ARG INFERENCE_DEVICE=auto
# The CUDA base has no Node: take the binary the build used. The Node base has it, and a COPY
# would add a second ~120 MB layer of the same file, so it is copied only where missing.
# tini is PID 1: it reaps orphaned processes (nginx or handler subprocesses whose parent died)
# and passes SIGTERM on to serve, which drains. libjemalloc2: serve preloads it into the
# workers (docs/configuration.md, MODEL_SERVER_MALLOC).
# The server runs no package manager: npm, npx, corepack (and yarn, where a base has it) go.
RUN --mount=type=bind,from=build,source=/usr/local/bin/node,target=/tmp/build-node \
    { command -v node >/dev/null || cp /tmp/build-node /usr/local/bin/node; } \
 && apt-get update \
 && apt-get install -y --no-install-recommends nginx ca-certificates tini libjemalloc2 \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/nginx/sites-enabled/default \
 && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /opt/program
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY package.json nginx.conf serve ./
COPY web ./web
# The shipped model is the fallback; a model mounted at /opt/ml/model (SageMaker) wins.
COPY model/model.tar.gz ./model/model.tar.gz
RUN ln -s /opt/program/serve /usr/local/bin/serve
ENV NODE_ENV=production \
    INFERENCE_DEVICE=${INFERENCE_DEVICE}
LABEL com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true
# Hosts multi-model endpoints when SageMaker sets SAGEMAKER_MULTI_MODEL=true (docs/multi-model.md).
LABEL com.amazonaws.sagemaker.capabilities.multi-models=true
EXPOSE 8080
# SageMaker runs `docker run IMAGE serve`; `docker run IMAGE` serves too.
ENTRYPOINT ["/usr/bin/tini", "--", "serve"]
