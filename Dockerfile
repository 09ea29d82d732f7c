# The gateway's own image: the built server, kernel gateway (agent) and web assets.
#
# With a registry:  docker build -t nbgateway/gateway .
# Offline (no registry, as on the project's machines): scripts/gateway-image builds a Node base
#          from the debootstrap base image and the host's Node, then this file on top of it.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY kernel-gateway/package.json kernel-gateway/
COPY server/package.json server/
COPY web/package.json web/
# npm ci needs every workspace's package.json (extensions/* are workspaces).
COPY extensions extensions
RUN npm ci --no-fund --no-audit --loglevel=error
COPY . .
RUN node scripts/build.mjs && npm prune --omit=dev --no-fund --no-audit --loglevel=error

FROM ${NODE_IMAGE}
# Written directly so the image needs no shadow tools (minimal Debian bases lack them).
RUN echo 'nbgateway:x:990:990:nbgateway:/var/lib/nbgateway:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'nbgateway:x:990:' >> /etc/group \
 && mkdir -p /var/lib/nbgateway && chown 990:990 /var/lib/nbgateway
WORKDIR /opt/nbgateway
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/server/package.json server/
COPY --from=build /src/server/dist server/dist
COPY --from=build /src/kernel-gateway/dist kernel-gateway/dist
COPY --from=build /src/images images
COPY --from=build /src/web/dist web/dist
ENV NBG_HOST=0.0.0.0 NBG_PORT=8000 NBG_DATA_DIR=/var/lib/nbgateway
EXPOSE 8000
USER nbgateway
CMD ["node", "server/dist/main.cjs"]
