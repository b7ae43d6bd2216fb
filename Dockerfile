# The gateway and every handler binary, in a small runtime image that runs
# template.yaml against the DynamoDB/SQS endpoint in WSGATE_AWS_ENDPOINT_URL.
#
# BUILDER and RUNTIME are the base images. BINARIES says where the binaries come
# from: `compile` builds them in BUILDER (the default); `prebuilt` takes release
# binaries built outside from the context's prebuilt/ folder, for machines whose
# builds cannot reach crates.io (scripts/test builds it so with local images).
ARG BUILDER=rust:1.95-bookworm
ARG RUNTIME=debian:bookworm-slim
ARG BINARIES=compile

FROM ${BUILDER} AS compile
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p wsgate -p handlers --bins \
    && mkdir /out \
    && find target/release -maxdepth 1 -type f -perm -u+x -exec cp {} /out/ \;

FROM ${RUNTIME} AS prebuilt
COPY prebuilt/ /out/

# hadolint ignore=DL3006
FROM ${BINARIES} AS build

FROM ${RUNTIME}
# ca-certificates: functions talk TLS to real AWS when no endpoint is set. The
# user's ~/.local and ~/.cache hold the gateway's local CA and preload library.
# Unpinned on purpose: the image should get Debian's security updates when rebuilt.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin wsgate \
    && install -d -o wsgate -g wsgate /app/.local /app/.cache
WORKDIR /app
COPY --from=build /out/wsgate /usr/local/bin/wsgate
COPY --from=build /out/authorizer /usr/local/bin/authorizer
COPY --from=build /out/connect /usr/local/bin/connect
COPY --from=build /out/disconnect /usr/local/bin/disconnect
COPY --from=build /out/authorize /usr/local/bin/authorize
COPY --from=build /out/ping /usr/local/bin/ping
COPY --from=build /out/default /usr/local/bin/default
COPY --from=build /out/token /usr/local/bin/token
COPY --from=build /out/notify-user /usr/local/bin/notify-user
COPY --from=build /out/notify-connection /usr/local/bin/notify-connection
COPY --from=build /out/close-unauthorized /usr/local/bin/close-unauthorized
COPY --from=build /out/mint-token /usr/local/bin/mint-token
COPY template.yaml /app/template.yaml
COPY web /app/web
USER 10001
ENV WSGATE_TEMPLATE=/app/template.yaml \
    WSGATE_BIN_DIR=/usr/local/bin \
    WSGATE_STATIC_DIR=/app/web \
    WSGATE_LISTEN=0.0.0.0:8080 \
    WSGATE_PARAMETERS="StageName=local TokenSecret=local-development-secret"
EXPOSE 8080
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=10 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["/usr/local/bin/wsgate"]
