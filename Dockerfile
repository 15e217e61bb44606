# jkjav: a two-stage build; the runtime image holds only the binary and the catalogues.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked && cp target/release/jkjav /jkjav

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 jkjav
COPY --from=build /jkjav /usr/local/bin/jkjav
COPY data /srv/jkjav/data
WORKDIR /srv/jkjav
USER jkjav
ENV PORT=3000
EXPOSE 3000
ENTRYPOINT ["jkjav", "serve"]
