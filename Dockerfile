# syntax=docker/dockerfile:1
# clanforge-wait as a container: a static (musl) binary in an otherwise empty image.
#   docker run --rm -e CLANFORGE_ACCESS_KEY -e CLANFORGE_SECRET_KEY ghcr.io/OWNER/clanforge-wait \
#     --update-id 123456 --asid 654321

FROM rust:1.95-alpine3.22 AS build
# ring builds a little C; Alpine's toolchain targets musl, so the binary is static.
# Packages follow the pinned Alpine release: Alpine drops superseded versions, so exact pins break.
# hadolint ignore=DL3018
RUN apk add --no-cache gcc musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crates ./crates
RUN cargo build --release --locked \
 && cp target/release/clanforge-wait /clanforge-wait

FROM alpine:3.22 AS certs
# hadolint ignore=DL3018
RUN apk add --no-cache ca-certificates

FROM scratch
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /clanforge-wait /clanforge-wait
# nobody:nogroup; the gate needs no privileges and writes only the files it is told to.
USER 65534:65534
ENTRYPOINT ["/clanforge-wait"]
