# Volant container image: multi-stage build, small non-root runtime
# (with PostgreSQL's client tools for `volant backup` / `volant restore`).
#   docker build -t volant .
#   docker run -p 8080:8080 -v volant-data:/data volant
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin volant \
 && cp target/release/volant /usr/local/bin/volant

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home volant
COPY --from=build /usr/local/bin/volant /usr/local/bin/volant
USER volant
WORKDIR /data
ENV VOLANT_ADDR=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/volant.db?mode=rwc \
    VOLANT_LOG_FORMAT=json
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/volant"]
CMD ["serve"]
