# The gateway's own image: the built server, kernel gateway (agent) and web assets.
#
# Online:  docker build -t nbgateway/gateway .
# Offline: images/build creates nbgateway/node:20-debian12 from the debootstrap base and the
#          host's Node binary; then docker build --build-arg NODE_IMAGE=nbgateway/node:20-debian12 .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY kernel-gateway/package.json kernel-gateway/
COPY server/package.json server/
COPY web/package.json web/
RUN npm ci --no-fund --no-audit --loglevel=error
COPY . .
RUN node scripts/build.mjs && npm prune --omit=dev --no-fund --no-audit --loglevel=error

FROM ${NODE_IMAGE}
RUN groupadd --system nbgateway && useradd --system --gid nbgateway --home-dir /var/lib/nbgateway nbgateway \
 && mkdir -p /var/lib/nbgateway && chown nbgateway:nbgateway /var/lib/nbgateway
WORKDIR /opt/nbgateway
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/server/package.json server/
COPY --from=build /src/server/dist server/dist
COPY --from=build /src/kernel-gateway/dist kernel-gateway/dist
COPY --from=build /src/images images
COPY --from=build /src/web web
ENV NBG_HOST=0.0.0.0 NBG_PORT=8000 NBG_DATA_DIR=/var/lib/nbgateway
EXPOSE 8000
USER nbgateway
CMD ["node", "server/dist/main.cjs"]
