# syntax=docker/dockerfile:1
# SageMaker-compatible image classification server.
#   CPU:  docker build -t image-classification .
#   GPU:  docker build -t image-classification:gpu \
#           --build-arg RUNTIME_BASE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04 \
#           --build-arg ORT_NODE_INSTALL=cuda12 .
#   (build_and_push.sh --gpu passes both.)
ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG RUNTIME_BASE=${NODE_IMAGE}

FROM ${NODE_IMAGE} AS build
# skip: the CPU build needs no CUDA download; cuda12: fetch ORT's CUDA execution provider.
ARG ORT_NODE_INSTALL=skip
WORKDIR /build
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund --onnxruntime-node-install=${ORT_NODE_INSTALL}
COPY tsconfig.json tsconfig.build.json ./
COPY image_classification ./image_classification
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --no-audit --no-fund

FROM ${RUNTIME_BASE}
ARG INFERENCE_DEVICE=auto
# The CUDA base has no Node: take the same binary the build used (a no-op on the CPU image).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# tini is PID 1: it reaps orphaned processes (nginx or handler subprocesses whose parent died)
# and passes SIGTERM on to serve, which drains.
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/nginx/sites-enabled/default
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
# Hosts multi-model endpoints when SageMaker sets SAGEMAKER_MULTI_MODEL=true (README, "Multi-model endpoints").
LABEL com.amazonaws.sagemaker.capabilities.multi-models=true
EXPOSE 8080
# SageMaker runs `docker run IMAGE serve`; `docker run IMAGE` serves too.
ENTRYPOINT ["/usr/bin/tini", "--", "serve"]
