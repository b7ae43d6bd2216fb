# The gateway and every handler binary, in a small runtime image that runs
# template.yaml against the DynamoDB/SQS endpoint in WSGATE_AWS_ENDPOINT_URL.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p wsgate -p handlers --bins

FROM debian:bookworm-slim
# ca-certificates: functions talk TLS to real AWS when no endpoint is set.
# Unpinned on purpose: the image should get Debian's security updates when rebuilt.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin wsgate
WORKDIR /app
COPY --from=build /src/target/release/wsgate /usr/local/bin/wsgate
COPY --from=build /src/target/release/authorizer /usr/local/bin/authorizer
COPY --from=build /src/target/release/connect /usr/local/bin/connect
COPY --from=build /src/target/release/disconnect /usr/local/bin/disconnect
COPY --from=build /src/target/release/authorize /usr/local/bin/authorize
COPY --from=build /src/target/release/ping /usr/local/bin/ping
COPY --from=build /src/target/release/default /usr/local/bin/default
COPY --from=build /src/target/release/token /usr/local/bin/token
COPY --from=build /src/target/release/notify-user /usr/local/bin/notify-user
COPY --from=build /src/target/release/notify-connection /usr/local/bin/notify-connection
COPY --from=build /src/target/release/close-unauthorized /usr/local/bin/close-unauthorized
COPY --from=build /src/target/release/mint-token /usr/local/bin/mint-token
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
